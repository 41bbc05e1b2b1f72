//go:build tools

// Package tools pins the commands this module builds, so `go mod tidy` keeps every dependency of
// the control plane (kube-apiserver, kube-controller-manager, kube-scheduler) and of the real
// node (kubelet, kube-proxy) in go.sum.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kube-proxy/app"
	_ "k8s.io/kubernetes/cmd/kube-scheduler/app"
	_ "k8s.io/kubernetes/cmd/kubelet/app"
)
