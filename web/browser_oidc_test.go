package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/provgraph/provgraph/auth"
	"github.com/provgraph/provgraph/internal/authtest"
	"github.com/provgraph/provgraph/internal/neo4jtest"
	"github.com/provgraph/provgraph/server"
)

// newOIDCConsole is a console whose server accepts iss's JWTs and offers the console's
// sign-in with it as clientID, registered at iss with the console's root as redirect URI.
func newOIDCConsole(t *testing.T, iss *authtest.Issuer, clientID string) *console {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	o, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: iss.URL, Audience: authtest.Audience, DiscoverEndpoints: true})
	require.NoError(t, err)
	ep, ok := o.Endpoints()
	require.True(t, ok)
	signIn, err := server.NewConsoleOIDC(iss.URL, clientID, []string{"openid", "profile"}, ep)
	require.NoError(t, err)
	c := newConsoleWith(t, func(opts *server.Options) {
		opts.OIDC = o
		opts.ConsoleOIDC = signIn
	})
	iss.RegisterClient(clientID, c.url+"/")
	return c
}

// experiment records an experiment and returns its console page's route and name.
func experiment(c *console, tk string) (route, name string) {
	c.t.Helper()
	name = "oidc-" + tk
	exp := c.graphql(`mutation($name: String!) { createExperiment(input: {name: $name}) { experiment { experimentId } } }`,
		map[string]any{"name": name})["createExperiment"].(map[string]any)["experiment"].(map[string]any)
	return "#/experiments/" + exp["experimentId"].(string), name
}

// signInButton is the sign-in screen's button that starts the OIDC flow.
const signInButton = `//button[starts-with(normalize-space(.), "Sign in with 127.0.0.1:")]`

// Someone opens a link to a console page, clicks "Sign in with <issuer>", is signed in
// by the issuer (Authorization Code with PKCE) and lands on the page of the link, with
// no code or state left in the address; the console's requests, GraphiQL's included,
// carry the issuer's access token: the API sees the OIDC actor.
func TestConsoleOIDCSignIn(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	tk := neo4jtest.Token(t)
	sub := "ml-" + tk + "@example.com"
	iss.SignInAs(map[string]any{"sub": sub, "roles": []string{"reader"}})
	// A client ID that is not the API's audience: the ID token (aud = the client) would
	// be refused, so signing in proves the access token is what the console sends.
	c := newOIDCConsole(t, iss, "provgraph-console")
	route, name := experiment(c, tk)

	c.run("open a link", chromedp.Navigate(c.url+"/"+route), chromedp.WaitVisible(signInButton, chromedp.BySearch))
	c.waitText("form", "or with an API token")
	c.run("sign in with the issuer", chromedp.Click(signInButton, chromedp.BySearch), chromedp.WaitVisible(`header.topbar`, chromedp.ByQuery))
	c.waitText("main h1", name)

	var href, pending string
	var token *string
	c.run("read the address and the tab's storage", chromedp.Location(&href),
		chromedp.Evaluate(`sessionStorage.getItem('provgraph.oidc.pending') ?? ''`, &pending),
		chromedp.Evaluate(`sessionStorage.getItem('provgraph.token')`, &token))
	assert.Equal(t, c.url+"/"+route, href, "back on the link's page, no code or state in the address")
	assert.Empty(t, pending, "the verifier and state are gone")
	require.NotNil(t, token)
	assert.Equal(t, 2, strings.Count(*token, "."), "a JWT is the tab's token")
	assert.NotContains(t, href, *token)

	// GraphiQL uses the same sign-in: the API sees the issuer's subject.
	result := c.graphiQL(`query Me { viewer { actor role } }`, `"role": "READER"`)
	assert.Contains(t, result, `"actor": "oidc:`+sub+`"`)
}

// An answer the tab did not ask for (another state), an issuer that declines and a
// token endpoint that refuses the code each leave the tab signed out with a message
// that says so — the issuer's own words as text; an issuer whose access tokens are not
// JWTs signs in with its ID token when the client is the API's audience.
func TestConsoleOIDCRefusals(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	c := newOIDCConsole(t, iss, authtest.Audience)
	route, name := experiment(c, neo4jtest.Token(t))
	c.run("open a link", chromedp.Navigate(c.url+"/"+route), chromedp.WaitVisible(signInButton, chromedp.BySearch))

	refused := func(what string, change func(q url.Values), want string) {
		t.Helper()
		iss.OnRedirect(change)
		c.run(what, chromedp.Click(signInButton, chromedp.BySearch), chromedp.WaitVisible(`[role="alert"]`, chromedp.ByQuery))
		c.waitText(`[role="alert"]`, want)
		var href string
		var token *string
		c.run("read the address", chromedp.Location(&href), chromedp.Evaluate(`sessionStorage.getItem('provgraph.token')`, &token))
		assert.Equal(t, c.url+"/"+route, href, what)
		assert.Nil(t, token, "%s: signed out", what)
		c.run("still on the sign-in screen", chromedp.WaitVisible(signInButton, chromedp.BySearch))
	}
	refused("a forged state", func(q url.Values) {
		q.Set("state", "forged")
		q.Set("error", "access_denied")
		q.Set("error_description", "call +1 555 0100 to unlock your account")
	}, "its state does not match")
	assert.NotContains(t, c.text(`[role="alert"]`), "555", "nothing of a foreign answer is shown")
	refused("the issuer declines", func(q url.Values) {
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", `<img src=x onerror=alert(1)> declined`)
	}, `did not sign you in: access_denied (<img src=x onerror=alert(1)> declined).`)
	c.expectFailedLoad(iss.URL + "/token")
	refused("a code the token endpoint refuses", func(q url.Values) { q.Set("code", "swapped") },
		"refused to hand out a token: invalid_grant (the code is unknown, used or expired).")

	// Access tokens that are not JWTs: the API refuses the first, the ID token signs in.
	iss.OnRedirect(nil)
	iss.OpaqueAccessTokens(true)
	c.expectFailedLoad(c.url + "/graphql")
	c.run("sign in with the issuer", chromedp.Click(signInButton, chromedp.BySearch), chromedp.WaitVisible(`header.topbar`, chromedp.ByQuery))
	c.waitText("main h1", name)

	// A signed-in tab opening someone else's answer ignores it and stays signed in.
	c.run("open a foreign answer", chromedp.Navigate(c.url+"/?code=theirs&state=theirs"+route), chromedp.WaitVisible(`header.topbar`, chromedp.ByQuery))
	c.waitText("main h1", name)
	var href string
	c.run("read the address", chromedp.Location(&href))
	assert.Equal(t, c.url+"/"+route, href)
}
