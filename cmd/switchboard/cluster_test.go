package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestClusterFlags: the cluster's flags go together, and the secret is long enough.
func TestClusterFlags(t *testing.T) {
	secret := strings.Repeat("s", 32)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis", "redis://127.0.0.1:1/0"}, "--redis needs --cluster-secret"},
		{[]string{"--redis", "redis://127.0.0.1:1/0", "--cluster-secret", "short"}, "--redis needs --cluster-secret"},
		{[]string{"--cluster-secret", secret}, "need --redis"},
		{[]string{"--node-id", "a"}, "need --redis"},
		{[]string{"--redis", "mysql://x", "--cluster-secret", secret}, "redis URL"},
		{[]string{"--redis", "redis://127.0.0.1:1/0", "--cluster-secret", secret, "--cluster-url", "ftp://x"}, "is not an http(s)://host:port URL"},
	} {
		err := serve(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, c.args...), io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("serve %v: %v, want an error with %q", c.args, err, c.want)
		}
	}
}
