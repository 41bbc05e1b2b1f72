#!/usr/bin/env bash
# Git server standing in for the seed's Gogs: `git http-backend` behind a small Go CGI server
# (smart HTTP, push allowed) and `git daemon` (git://), both on loopback. `up` seeds the bare repo
# sample-app.git from examples/sample-app: the app lives in app/ (Dockerfile + static binary, so
# BuildKit can build it FROM scratch from the git URL), tagged v1.0.0 on branch main.
source "$(dirname "$0")/../lib.sh"
STATE="$STACK_DIR/git"
REPOS="$STATE/repos"
SRC="$STACK_ROOT/gitserver"
BIN="$BIN_CACHE/gitserver-$(cat "$SRC"/go.mod "$SRC"/main.go | sha256sum | cut -c1-12)/gitserver"
GIT=(git -c user.name=Slipway -c user.email=slipway@example.invalid -c init.defaultBranch=main)

install() {
  [[ -x $BIN ]] && return 0
  log "building the git smart-HTTP server"
  (cd "$SRC" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$BIN" .)
}

# Statically linked and reproducible (-trimpath, empty build id), so re-seeding an unchanged app
# produces the same tree and no new commit.
build_sample_app() {
  local out="$1"
  (cd "$PROJECT_ROOT/examples/sample-app" &&
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid= -X main.version=1.0.0' -o "$out" .)
}

seed_sample_app() {
  local bare="$REPOS/sample-app.git" work="$STATE/work"
  [[ -d $bare ]] || git init -q --bare "$bare"
  rm -rf "$work" && git clone -q "$bare" "$work" 2>/dev/null
  mkdir -p "$work/app"
  (cd "$PROJECT_ROOT/examples/sample-app" && cp Dockerfile .dockerignore go.mod main.go "$work/app/")
  build_sample_app "$work/app/sample-app"
  printf '# sample-app\n\nSeeded by Slipway'"'"'s local stack; the app and its Dockerfile are in app/.\n' > "$work/README.md"
  (
    cd "$work"
    "${GIT[@]}" checkout -q -B main
    git add -A
    if ! git diff --cached --quiet; then
      "${GIT[@]}" commit -q -m "sample-app $(date -u +%FT%TZ)"
      git push -q origin main
    fi
    # v1.0.0 marks the first seeded commit; later commits only move main.
    if ! git ls-remote --exit-code --tags origin v1.0.0 >/dev/null; then
      "${GIT[@]}" tag v1.0.0 && git push -q origin v1.0.0
    fi
  )
  git -C "$bare" symbolic-ref HEAD refs/heads/main
  rm -rf "$work"
}

up() {
  mkdir -p "$REPOS"
  seed_sample_app
  start_daemon gitserver "$LOG_DIR/gitserver.log" "$BIN" -addr "$LISTEN_ALL:$GIT_HTTP_PORT" -root "$REPOS"
  start_daemon git-daemon "$LOG_DIR/git-daemon.log" git daemon --reuseaddr --export-all \
    --listen="$LISTEN_ALL" --port="$GIT_DAEMON_PORT" --base-path="$REPOS" "$REPOS"
  wait_for "git smart-HTTP server on :$GIT_HTTP_PORT" 30 git ls-remote "http://127.0.0.1:$GIT_HTTP_PORT/sample-app.git"
  wait_for "git daemon on :$GIT_DAEMON_PORT" 30 git ls-remote "git://127.0.0.1:$GIT_DAEMON_PORT/sample-app.git"
  write_env git \
    "GIT_HTTP_URL=http://127.0.0.1:$GIT_HTTP_PORT" \
    "GIT_DAEMON_URL=git://127.0.0.1:$GIT_DAEMON_PORT" \
    "SAMPLE_APP_GIT=http://127.0.0.1:$GIT_HTTP_PORT/sample-app.git" \
    "GIT_REPOS_DIR=$REPOS" \
    "GIT_HTTP_URL_IN_CLUSTER=http://git.$STACK_DOMAIN:$GIT_HTTP_PORT" \
    "SAMPLE_APP_GIT_IN_CLUSTER=http://git.$STACK_DOMAIN:$GIT_HTTP_PORT/sample-app.git"
}

down() { stop_daemon gitserver; stop_daemon git-daemon; rm -f "$ENV_DIR/git.env"; }

status() {
  git ls-remote "http://127.0.0.1:$GIT_HTTP_PORT/sample-app.git" >/dev/null 2>&1 &&
    git ls-remote "git://127.0.0.1:$GIT_DAEMON_PORT/sample-app.git" >/dev/null 2>&1 &&
    echo "http://127.0.0.1:$GIT_HTTP_PORT, git://127.0.0.1:$GIT_DAEMON_PORT ($(ls "$REPOS" 2>/dev/null | tr '\n' ' '))"
}

"${1:?usage: $0 install|up|down|status}"
