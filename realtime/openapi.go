package main

import _ "embed"

// openAPIDocument is realtime's OpenAPI 3.1 document, hand-written in openapi.json: every route of
// routes.go without the gateway's /realtime prefix, served at GET /openapi.json (shared.Document). The
// devstack module's openapi tests hold it to routes.go and to the answers the service really gives.
//
//go:embed openapi.json
var openAPIDocument []byte
