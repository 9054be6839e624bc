package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key as PEM files
// and returns their paths and the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "provgraph test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	return certFile, keyFile, cert
}

// With a certificate and key, serve answers HTTPS (TLS 1.2 or later) to a client
// that trusts the certificate, and nothing else: not plain HTTP, not TLS 1.1, not a
// client that does not trust it.
func TestServeHTTPSWithConfiguredCertificate(t *testing.T) {
	certFile, keyFile, cert := selfSigned(t)
	tlsCfg, err := tlsConfig(certFile, keyFile)
	require.NoError(t, err)
	require.NotNil(t, tlsCfg)
	cfg := testServeConfig(t)
	cfg.tls = tlsCfg
	addr := cfg.addr
	cancel, done := startServer(t, cfg)

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := func(c *tls.Config) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: c, ForceAttemptHTTP2: true}}
	}
	trusting := client(&tls.Config{RootCAs: roots})
	base := "https://" + addr
	requireReady(t, trusting, base)

	// The metrics need a reader's token, over HTTPS like everything else.
	reader := authtest.NewToken(t, neo4jtest.Store(t), auth.RoleReader)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/metrics", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", reader.Header())
	resp, err := trusting.Do(req)
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, resp.TLS)
	assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))
	assert.Equal(t, "HTTP/2.0", resp.Proto)
	assert.Contains(t, string(body), `provgraph_http_requests_total{code="200",operation="readyz",surface="health"}`)

	_, err = client(&tls.Config{}).Get(base + "/healthz")
	require.Error(t, err, "a client that does not trust the certificate")
	assert.Contains(t, err.Error(), "certificate")
	_, err = client(&tls.Config{RootCAs: roots, MaxVersion: tls.VersionTLS11}).Get(base + "/healthz")
	require.Error(t, err, "TLS 1.1 is refused")
	plain, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	_ = plain.Body.Close()
	assert.Equal(t, http.StatusBadRequest, plain.StatusCode, "plain HTTP to the HTTPS port")

	cancel()
	requireStopped(t, done)
}

// --tls-cert and --tls-key (or their variables) go together; a certificate that
// cannot be loaded is named. Each is a usage error before anything starts.
func TestServeTLSFlagsBothOrNeither(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"cert without key", []string{"--tls-cert", certFile}, nil, "--tls-cert is set but --tls-key is not"},
		{"key without cert", []string{"--tls-key", keyFile}, nil, "--tls-key is set but --tls-cert is not"},
		{"cert from the environment, no key", nil, map[string]string{"PROVGRAPH_TLS_CERT": certFile}, "--tls-cert is set but --tls-key is not"},
		{"key from the environment, no cert", nil, map[string]string{"PROVGRAPH_TLS_KEY": keyFile}, "--tls-key is set but --tls-cert is not"},
		{"missing file", []string{"--tls-cert", certFile + ".missing", "--tls-key", keyFile}, nil, certFile + ".missing"},
		{"the key file holds no key", []string{"--tls-cert", certFile, "--tls-key", certFile}, nil, "--tls-key " + certFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(append([]string{"serve", "--neo4j-uri", "bolt://127.0.0.1:1"}, tt.args...), &out, &errOut))
			assert.Contains(t, errOut.String(), tt.want)
			assert.True(t, strings.HasPrefix(errOut.String(), "provgraph serve: "), errOut.String())
		})
	}
	cfg, err := tlsConfig("", "")
	require.NoError(t, err)
	assert.Nil(t, cfg, "neither: plain HTTP")
}
