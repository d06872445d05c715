package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// imageUID is the user the container image runs the server as (distroless's
// "nonroot").
const imageUID = 65532

// buildStatic builds the binary as the Dockerfile's build stage does: no cgo,
// trimmed paths, stripped, a version set at link time.
func buildStatic(t *testing.T, out, version string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+version, "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// inRoot runs the binary /switchboard of root with args, root as its file system
// root (chroot), as the image's user. Not as root, it runs in a user namespace of
// its own, where it is root.
func inRoot(root string, args ...string) *exec.Cmd {
	cmd := exec.Command("/switchboard", args...)
	cmd.Path = "/switchboard"
	cmd.Dir = "/"
	cmd.Env = []string{} // the image sets none that matter here
	attr := &syscall.SysProcAttr{Chroot: root, Pdeathsig: syscall.SIGKILL}
	if os.Geteuid() == 0 {
		attr.Credential = &syscall.Credential{Uid: imageUID, Gid: imageUID}
	} else {
		attr.Cloneflags = syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	cmd.SysProcAttr = attr
	return cmd
}

// TestStaticBinaryInEmptyRoot: the binary built as for the container image runs in
// a root that holds nothing else (no libc, no /etc, no /proc, no home) as a user
// without privileges: it prints its version, and serves /healthz.
func TestStaticBinaryInEmptyRoot(t *testing.T) {
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil { // the image's user must reach the binary
		t.Fatal(err)
	}
	const version = "v0.0.0-emptyroot"
	buildStatic(t, filepath.Join(root, "switchboard"), version)

	out, err := inRoot(root, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "switchboard "+version) {
		t.Fatalf("version in the empty root: %v\n%s", err, out)
	}

	cmd := inRoot(root, "--addr", "127.0.0.1:0", "--ice-loopback", "--ice-tcp-port", "0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the binary in the empty root: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
	}()
	var url string
	select {
	case line := <-lines:
		url = strings.TrimSpace(strings.TrimPrefix(line, "Switchboard is running at "))
	case err := <-exited:
		t.Fatalf("the binary exited in the empty root: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("the binary printed no URL in 30 s\n%s", stderr.String())
	}
	resp, err := http.Get(url + "healthz")
	if err != nil {
		t.Fatalf("GET %shealthz: %v", url, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d, want 200", resp.StatusCode)
	}
}
