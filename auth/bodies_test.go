package main

import (
	"encoding/base64"
	"testing"

	"github.com/goshop/platform/shared"
	"github.com/goshop/platform/shared/sharedtest"
)

// TestRouteBodies: every body-taking route of routes.go, JSON and form, answers 413 to a 2 MiB body
// and 400 to invalid UTF-8 in a text field or a percent-decoded form value.
func TestRouteBodies(t *testing.T) {
	t.Parallel()
	env := newTestEnv(t)
	env.addAccount(t, "u@example.com", "right-password", shared.RoleCustomer)
	m := sharedtest.Marker
	service := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("internal-service:service-secret-123"))}
	authorize := "response_type=code&client_id=storefront&redirect_uri=" + storefrontRedirect +
		"&code_challenge=" + challengeOf("v") + "&code_challenge_method=S256&scope=openid&state=st" + m
	sharedtest.CheckBodies(t, env.handler, "routes.go", map[string]sharedtest.BodyCase{
		"POST /register":   {Body: `{"email":"new@example.com","password":"a-long-passw0rd","name":"Ann` + m + `"}`},
		"POST /login":      {Body: `{"email":"u@example.com","password":"right-password` + m + `"}`},
		"POST /logout":     {},
		"POST /authorize":  {Body: authorize},
		"POST /token":      {Header: service, Body: "grant_type=client_credentials&scope=service" + m},
		"POST /userinfo":   {},
		"POST /introspect": {Header: service, Body: "token=abc" + m},
		"POST /revoke":     {Header: service, Body: "token=abc" + m},
	})
}
