package tlsutil

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// fileRecheck is how often at most the certificate files are looked at again for a
// renewal (certbot and the like replace them in place).
const fileRecheck = 10 * time.Second

// fileSetup serves the certificate chain and key of c's files, and picks up new
// files when they change.
func fileSetup(c Config) (*Setup, error) {
	if c.CertFile == "" || c.KeyFile == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	fc, err := newFileCert(c.CertFile, c.KeyFile, fileRecheck)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key: %w", err)
	}
	cfg := baseConfig()
	cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return fc.get(), nil }
	return &Setup{TLS: cfg, Host: firstName(fc.get().Leaf.DNSNames)}, nil
}

// newFileCert reads the files, and looks at them again at most every recheck.
func newFileCert(certFile, keyFile string, recheck time.Duration) (*fileCert, error) {
	fc := &fileCert{certFile: certFile, keyFile: keyFile, recheck: recheck}
	first, err := fc.load()
	if err != nil {
		return nil, err
	}
	fc.cur.Store(first)
	return fc, nil
}

// fileCert is a certificate read from files, read again when they change. A
// handshake never waits for the files: one checks them while the others use what
// is loaded.
type fileCert struct {
	certFile, keyFile string
	recheck           time.Duration

	cur      atomic.Pointer[loadedCert]
	checking sync.Mutex // held by the one handshake that checks the files
}

// loadedCert is a certificate and the state of its files when it was read.
type loadedCert struct {
	cert    *tls.Certificate
	stamp   string    // the files' sizes and modification times
	checked time.Time // when the files were last looked at
}

// get is the certificate to serve, read again first if the files changed since.
// A pair that does not load (a renewal half written: a new chain, the old key) is
// ignored until the next check.
func (fc *fileCert) get() *tls.Certificate {
	cur := fc.cur.Load()
	if time.Since(cur.checked) < fc.recheck || !fc.checking.TryLock() {
		return cur.cert
	}
	defer fc.checking.Unlock()
	cur = fc.cur.Load()
	next := &loadedCert{cert: cur.cert, stamp: cur.stamp, checked: time.Now()}
	if stamp, err := fc.stamp(); err == nil && stamp != cur.stamp {
		if loaded, err := fc.load(); err == nil {
			next = loaded
		}
	}
	fc.cur.Store(next)
	return next.cert
}

// load reads the files.
func (fc *fileCert) load() (*loadedCert, error) {
	stamp, err := fc.stamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(fc.certFile, fc.keyFile)
	if err != nil {
		return nil, err
	}
	return &loadedCert{cert: &cert, stamp: stamp, checked: time.Now()}, nil
}

// stamp sums up the files' sizes and modification times.
func (fc *fileCert) stamp() (string, error) {
	var s string
	for _, f := range []string{fc.certFile, fc.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d@%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}
