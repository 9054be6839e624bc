package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestServeHelpDocumentsFlagsAndEnvironment(t *testing.T) {
	t.Setenv("NEO4J_PASSWORD", "secret-from-env")
	var out, errOut bytes.Buffer
	code := run([]string{"serve", "--help"}, &out, &errOut)
	assert.Equal(t, 0, code)
	help := errOut.String()
	for _, want := range []string{"PROVGRAPH_ADDR", "NEO4J_URI", "NEO4J_USER", "NEO4J_PASSWORD", "NEO4J_DATABASE",
		"PROVGRAPH_LOG_LEVEL", "PROVGRAPH_LOG_FORMAT", "PROVGRAPH_SHUTDOWN_TIMEOUT", "127.0.0.1:8080", "SIGTERM",
		"/metrics", "--tls-cert", "PROVGRAPH_TLS_CERT", "--tls-key", "PROVGRAPH_TLS_KEY"} {
		assert.Contains(t, help, want)
	}
	assert.NotContains(t, help, "secret-from-env", "help never prints a password")
}

func TestUsageErrors(t *testing.T) {
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errOut))
	assert.Equal(t, 2, run([]string{"frobnicate"}, &out, &errOut))
	assert.Contains(t, errOut.String(), `unknown command "frobnicate"`)
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"serve", "--no-such-flag"}, &out, &errOut))
	assert.True(t, strings.Contains(errOut.String(), "no-such-flag"))
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"serve", "--log-level", "loud"}, &out, &errOut))
	assert.Contains(t, errOut.String(), "--log-level")
}
