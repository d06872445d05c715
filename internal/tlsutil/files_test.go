package tlsutil

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFileCertRenewal: new certificate files replace the served certificate; a pair
// half replaced (new chain, old key) is not taken, and the old one served until the
// key follows.
func TestFileCertRenewal(t *testing.T) {
	dir, next := t.TempDir(), t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first, err := makeSelfSigned(certFile, keyFile, []string{"first.test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := newFileCert(certFile, keyFile, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := fc.get().Leaf.DNSNames[0]; got != first.Leaf.DNSNames[0] {
		t.Fatalf("serves %s, want first.test", got)
	}
	if _, err := makeSelfSigned(filepath.Join(next, "cert.pem"), filepath.Join(next, "key.pem"), []string{"second.test"}, nil); err != nil {
		t.Fatal(err)
	}
	// Distinct modification times, whatever the file system's resolution.
	replace := func(name string, at time.Time) {
		b, err := os.ReadFile(filepath.Join(next, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(filepath.Join(dir, name), at, at); err != nil {
			t.Fatal(err)
		}
	}
	replace("cert.pem", time.Now().Add(time.Minute))
	if got := fc.get().Leaf.DNSNames[0]; got != "first.test" {
		t.Errorf("with a new chain and the old key: serves %s, want first.test still", got)
	}
	replace("key.pem", time.Now().Add(2*time.Minute))
	if got := fc.get().Leaf.DNSNames[0]; got != "second.test" {
		t.Errorf("after both files were replaced: serves %s, want second.test", got)
	}
}
