package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns their files and a pool
// that trusts it.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stablegate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// With a certificate and key the gateway serves HTTPS only, with HSTS, and its URLs are https.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	certFile, keyFile, pool := selfSigned(t)
	creds, _ := startDev(t, "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(creds.BaseURL, "https://127.0.0.1:") {
		t.Fatalf("base URL %s", creds.BaseURL)
	}
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	for _, path := range []string{"/health", "/api/v1/orders"} {
		res, err := client.Get(creds.BaseURL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.Header.Get("Strict-Transport-Security") != "max-age=31536000" {
			t.Fatalf("%s: %d without HSTS: %v", path, res.StatusCode, res.Header)
		}
	}
	res, err := http.Get("http://" + strings.TrimPrefix(creds.BaseURL, "https://") + "/health")
	if err == nil {
		res.Body.Close()
		if res.StatusCode == 200 {
			t.Fatal("plain HTTP answered 200 on the TLS port")
		}
	}
	if _, _, err := runCLI(t, "dev", "--tls-cert", certFile, "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "tlsCert and tlsKey go together") {
		t.Fatalf("a certificate without a key: %v", err)
	}
	if _, _, err := runCLI(t, "dev", "--tls-cert", keyFile, "--tls-key", keyFile, "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "tlsCert/tlsKey") {
		t.Fatalf("a key as the certificate: %v", err)
	}
}
