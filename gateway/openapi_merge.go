package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// apiPart is one document of the merge: a service's (prefix "/auth") or the gateway's own (prefix "").
type apiPart struct {
	service string
	prefix  string
	doc     map[string]any
}

// componentKinds are the sections of components whose entries are referenced by name.
var componentKinds = []string{"schemas", "responses", "parameters", "examples", "requestBodies", "headers",
	"securitySchemes", "links", "callbacks", "pathItems"}

// gatewayResponses are answers the gateway itself may give on every proxied operation (rate limit,
// no healthy upstream), and on writes (the cross-site guard, the body limit): the merge adds them,
// as references to the gateway document's responses, where a service's document does not say them.
var gatewayResponses = map[string]string{"429": "GatewayTooManyRequests", "503": "GatewayUnavailable"}
var gatewayWriteResponses = map[string]string{"403": "GatewayCrossSite", "413": "GatewayTooLarge", "415": "GatewayNotJSON"}

// mergeAPIDocuments builds the public API as the gateway exposes it from own (the gateway's document:
// info, its own routes, its responses) and the services' documents: every service path under its
// prefix, with its tags as "service: tag". A component defined identically by several documents is
// kept once under its name; one defined differently is kept once per document as "service_Name", with
// that document's references (and security requirements, for schemes) renamed. Servers become the
// gateway ("/"). Operations get the gateway's own answers (gatewayResponses). auth's well-known
// documents are also described at the root, where the gateway serves them. The parts' documents are
// changed in place.
func mergeAPIDocuments(own map[string]any, parts []apiPart) map[string]any {
	all := append([]apiPart{{service: "gateway", doc: own}}, parts...)
	renameClashes(all)

	out := map[string]any{}
	for k, v := range own {
		out[k] = v
	}
	out["servers"] = []any{map[string]any{"url": "/", "description": "this gateway"}}
	paths := map[string]any{}
	components := map[string]any{}
	var tags []any
	for i, p := range all {
		for _, kind := range componentKinds {
			for name, def := range mapAt(p.doc, "components", kind) {
				section, _ := components[kind].(map[string]any)
				if section == nil {
					section = map[string]any{}
					components[kind] = section
				}
				section[name] = def
			}
		}
		tagName := func(t string) string { return t }
		if i > 0 {
			tagName = func(t string) string { return p.service + ": " + t }
		}
		for _, t := range sliceAt(p.doc, "tags") {
			if tm, ok := t.(map[string]any); ok {
				tm = maps.Clone(tm)
				tm["name"] = tagName(stringAt(tm, "name"))
				tags = append(tags, tm)
			}
		}
		docSecurity, hasSecurity := p.doc["security"]
		for path, item := range mapAt(p.doc, "paths") {
			im, ok := item.(map[string]any)
			if !ok || i > 0 && slices.Contains(internalPaths, path) {
				continue // a service's probes and metrics: not forwarded (internalPaths)
			}
			for method, o := range im {
				op, ok := o.(map[string]any)
				if !ok || !isMethod(method) {
					continue
				}
				if ts, ok := op["tags"].([]any); ok {
					for j, t := range ts {
						ts[j] = tagName(t.(string))
					}
				} else if i > 0 {
					op["tags"] = []any{p.service}
				}
				if _, ok := op["security"]; !ok && hasSecurity {
					op["security"] = docSecurity
				}
				if i > 0 {
					addGatewayResponses(op, method)
				}
			}
			paths[p.prefix+path] = im
		}
	}
	for _, p := range wellKnownPaths {
		if item, ok := paths["/auth"+p].(map[string]any); ok {
			paths[p] = rootCopy(item)
		}
	}
	out["paths"] = paths
	out["components"] = components
	out["tags"] = tags
	delete(out, "security")
	return out
}

// addGatewayResponses adds the gateway's own answers an operation does not describe.
func addGatewayResponses(op map[string]any, method string) {
	responses, _ := op["responses"].(map[string]any)
	if responses == nil {
		return
	}
	add := func(set map[string]string) {
		for status, name := range set {
			if _, ok := responses[status]; !ok {
				responses[status] = map[string]any{"$ref": "#/components/responses/" + name}
			}
		}
	}
	add(gatewayResponses)
	switch strings.ToUpper(method) {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		add(gatewayWriteResponses)
	}
}

// rootCopy is a path item of auth's served at the root too: the same operations with IDs of their own.
func rootCopy(item map[string]any) map[string]any {
	b, _ := json.Marshal(item)
	var c map[string]any
	json.Unmarshal(b, &c)
	for method, o := range c {
		if op, ok := o.(map[string]any); ok && isMethod(method) {
			if id, ok := op["operationId"].(string); ok {
				op["operationId"] = id + "AtRoot"
			}
		}
	}
	return c
}

// renameClashes gives every component that two documents define differently a name per document
// ("service_Name") and renames the references to it inside that document.
func renameClashes(parts []apiPart) {
	for _, kind := range componentKinds {
		defs := map[string]map[string]bool{} // name → canonical JSON of each definition
		for _, p := range parts {
			for name, def := range mapAt(p.doc, "components", kind) {
				b, _ := json.Marshal(def) // map keys sorted: equal definitions give equal bytes
				if defs[name] == nil {
					defs[name] = map[string]bool{}
				}
				defs[name][string(b)] = true
			}
		}
		for _, p := range parts {
			section := mapAt(p.doc, "components", kind)
			renames := map[string]string{}
			for _, name := range slices.Sorted(maps.Keys(section)) {
				if len(defs[name]) > 1 {
					renames[name] = p.service + "_" + name
					section[p.service+"_"+name] = section[name]
					delete(section, name)
				}
			}
			if len(renames) > 0 {
				renameRefs(p.doc, kind, renames)
			}
		}
	}
}

// renameRefs rewrites every "$ref" to a renamed component of kind in v, and for securitySchemes the
// names in security requirements.
func renameRefs(v any, kind string, renames map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			if rest, ok := strings.CutPrefix(ref, "#/components/"+kind+"/"); ok {
				name, tail, _ := strings.Cut(rest, "/")
				if n, ok := renames[name]; ok {
					x["$ref"] = "#/components/" + kind + "/" + n + strings.TrimSuffix("/"+tail, "/")
				}
			}
		}
		if kind == "securitySchemes" {
			for _, req := range sliceAt(x, "security") {
				if rm, ok := req.(map[string]any); ok {
					for old, n := range renames {
						if scopes, ok := rm[old]; ok {
							rm[n] = scopes
							delete(rm, old)
						}
					}
				}
			}
		}
		for _, e := range x {
			renameRefs(e, kind, renames)
		}
	case []any:
		for _, e := range x {
			renameRefs(e, kind, renames)
		}
	}
}

func isMethod(m string) bool {
	switch strings.ToUpper(m) {
	case http.MethodGet, http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodOptions,
		http.MethodHead, http.MethodPatch, http.MethodTrace:
		return true
	}
	return false
}

// mapAt follows keys through nested JSON objects; nil when one is missing or not an object.
func mapAt(v map[string]any, keys ...string) map[string]any {
	for _, k := range keys {
		next, _ := v[k].(map[string]any)
		if next == nil {
			return nil
		}
		v = next
	}
	return v
}

func sliceAt(v map[string]any, key string) []any {
	s, _ := v[key].([]any)
	return s
}

func stringAt(v map[string]any, key string) string {
	s, _ := v[key].(string)
	return s
}
