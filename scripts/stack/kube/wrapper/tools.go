//go:build tools

// Package tools pins the control-plane commands this module builds, so `go mod tidy` keeps
// every dependency of kube-apiserver, kube-controller-manager and kube-scheduler in go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
)
