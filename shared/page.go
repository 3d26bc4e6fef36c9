package shared

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"log/slog"
	"net/http"
)

// PageStyle is the style of the few HTML pages services serve themselves, outside the storefront:
// auth's consent page and user's unsubscribe page, which people reach from another app or from a
// mail. A card on a grey page (full width under 34rem), 44 px buttons (.primary, .secondary), a
// visible focus ring, .note for a boxed sentence. It goes inline in the page's <style>, which
// PageCSP allows by its hash, so such a page loads nothing and runs no script.
const PageStyle template.CSS = `
body{margin:0;background:#f4f5f7;color:#1d232b;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{box-sizing:border-box;max-width:34rem;margin:2rem auto;padding:1.5rem;background:#fff;border:1px solid #d7dbe0;border-radius:12px}
h1{font-size:1.4rem;line-height:1.3;margin:0 0 .75rem}
p,form{margin:0 0 1rem}
.muted{color:#4a5562}
ul{margin:0 0 1rem;padding-left:1.25rem}
li{margin:.35rem 0}
small{color:#5b6672}
.note{margin:0 0 1.25rem;padding:.75rem;background:#f4f5f7;border-radius:8px}
.actions{display:flex;flex-wrap:wrap;gap:.75rem}
button{min-height:44px;padding:.6rem 1.4rem;font:inherit;font-weight:600;border-radius:8px;cursor:pointer;border:1px solid #1a56db}
.primary{background:#1a56db;color:#fff}
.secondary{background:#fff;color:#1a56db}
button:focus-visible,a:focus-visible{outline:3px solid #1d232b;outline-offset:2px}
a{color:#1a56db}
@media (max-width:34rem){main{margin:0;border:0;border-radius:0;min-height:100vh}}
`

// PageCSP is the Content-Security-Policy of a page styled by PageStyle: nothing loads, no script
// runs, the inline style is allowed by its hash (CSP Level 2), forms post to the page's own origin.
var PageCSP = func() string {
	sum := sha256.Sum256([]byte(PageStyle))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// WritePage answers status with t executed on v as such a page: HTML, never stored, under PageCSP.
// A template that fails is a 500 in the error shape, not half a page.
func WritePage(w http.ResponseWriter, r *http.Request, logger *slog.Logger, status int, t *template.Template, v any) {
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		WriteError(w, r, logger, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", PageCSP)
	w.WriteHeader(status)
	w.Write(b.Bytes())
}
