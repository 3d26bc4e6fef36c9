package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// product is the catalog entry as stored. Price is integer cents; SKU is normalised (see normalizeSKU)
// and never changes after creation, because inventory and orders key stock and lines by it. A deleted
// product keeps its document (soft delete: DeletedAt set, Active false) so its SKU stays reserved.
type product struct {
	ID          string            `bson:"_id"`
	SKU         string            `bson:"sku"`
	Name        string            `bson:"name"`
	Description string            `bson:"description"`
	PriceCents  int64             `bson:"price_cents"`
	Currency    string            `bson:"currency"`
	Category    string            `bson:"category"`
	Images      []string          `bson:"images"`
	Attributes  map[string]string `bson:"attributes"`
	Active      bool              `bson:"active"`
	CreatedAt   time.Time         `bson:"created_at"`
	UpdatedAt   time.Time         `bson:"updated_at"`
	DeletedAt   *time.Time        `bson:"deleted_at,omitempty"`
	// Outbox holds the product's events not yet acknowledged by Kafka, keyed by event ID. They are
	// written in the same atomic document update as the change they describe, so a change can never
	// exist without its event; Pending counts them so the relay can find them with an index.
	Outbox  map[string]outboxEvent `bson:"outbox,omitempty"`
	Pending int                    `bson:"pending"`
	// Version is 1 on create and grows by one with every update and the delete. Writes are
	// conditional on the version they read, so events are numbered (outboxEvent.Seq) in the order
	// the changes were applied, whatever the order their requests started in.
	Version int64 `bson:"version"`
}

// visible reports whether public reads may show p.
func (p product) visible() bool { return p.Active && p.DeletedAt == nil }

// clone returns a deep copy, so the in-memory store never shares slices or maps with callers.
func (p product) clone() product {
	c := p
	if p.Images != nil {
		c.Images = append([]string(nil), p.Images...)
	}
	if p.Attributes != nil {
		c.Attributes = maps.Clone(p.Attributes)
	}
	if p.DeletedAt != nil {
		t := *p.DeletedAt
		c.DeletedAt = &t
	}
	if p.Outbox != nil {
		c.Outbox = maps.Clone(p.Outbox)
	}
	return c
}

// productView is the API's product JSON (ARCHITECTURE.md § JSON shapes).
type productView struct {
	ID          string            `json:"id"`
	SKU         string            `json:"sku"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Price       shared.Cents      `json:"price"`
	Currency    string            `json:"currency"`
	Category    string            `json:"category"`
	Images      []string          `json:"images"`
	Attributes  map[string]string `json:"attributes"`
	Active      bool              `json:"active"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

func viewOf(p product) productView {
	v := productView{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description, Price: shared.Cents(p.PriceCents),
		Currency: p.Currency, Category: p.Category, Images: p.Images, Attributes: p.Attributes, Active: p.Active,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC()}
	if v.Images == nil {
		v.Images = []string{}
	}
	if v.Attributes == nil {
		v.Attributes = map[string]string{}
	}
	return v
}

// Limits on product fields; each is reported as a field error when exceeded.
const (
	maxSKULen       = 64
	maxNameLen      = 200
	maxDescLen      = 5000
	maxCategoryLen  = 50
	maxImages       = 10
	maxImageURLLen  = 2048
	maxAttributes   = 50
	maxAttrKeyLen   = 64
	maxAttrValueLen = 500
	maxInitialStock = 1_000_000
	maxProductBody  = 64 << 10 // 64 KiB: ten image URLs and fifty attributes fit many times over
)

// productInput is the body of POST /products and PUT /products/{id|sku/{sku}}: the product JSON. The
// read-only fields (id, created_at, updated_at) are accepted so a client may send back what it read;
// id must then match the path. Price is kept as raw JSON so it is parsed exactly (shared.ParseCents).
type productInput struct {
	ID          string            `json:"id"`
	SKU         string            `json:"sku"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	Price       json.RawMessage   `json:"price"`
	Currency    string            `json:"currency"`
	Category    string            `json:"category"`
	Images      []string          `json:"images"`
	Attributes  map[string]string `json:"attributes"`
	Active      *bool             `json:"active"`
	Stock       *int64            `json:"stock"`
	CreatedAt   json.RawMessage   `json:"created_at"`
	UpdatedAt   json.RawMessage   `json:"updated_at"`
}

// toProduct validates in and returns the product fields it sets (ID, timestamps and, for updates,
// SKU left for the caller), the initial stock, and field messages when anything is wrong. create
// selects the rules of POST: sku required, stock allowed.
func (in productInput) toProduct(create bool) (product, int64, map[string]string) {
	fields := map[string]string{}
	var p product

	if create || in.SKU != "" {
		sku, msg := normalizeSKU(in.SKU)
		if msg != "" {
			fields["sku"] = msg
		}
		p.SKU = sku
	}
	p.Name = strings.TrimSpace(in.Name)
	switch {
	case p.Name == "":
		fields["name"] = "is required"
	case utf8.RuneCountInString(p.Name) > maxNameLen:
		fields["name"] = fmt.Sprintf("must be at most %d characters", maxNameLen)
	case !shared.Printable(p.Name, false):
		fields["name"] = "must be valid text without control characters"
	}
	p.Description = strings.TrimSpace(in.Description)
	switch {
	case utf8.RuneCountInString(p.Description) > maxDescLen:
		fields["description"] = fmt.Sprintf("must be at most %d characters", maxDescLen)
	case !shared.Printable(p.Description, true):
		fields["description"] = "must be valid text without control characters"
	}
	if len(in.Price) == 0 || string(in.Price) == "null" {
		fields["price"] = "is required"
	} else if in.Price[0] == '"' || in.Price[0] == '{' || in.Price[0] == '[' {
		fields["price"] = "must be a JSON number such as 99.99"
	} else if cents, err := shared.ParseCents(string(in.Price)); err != nil {
		fields["price"] = err.Error()
	} else if cents == 0 {
		fields["price"] = "must be greater than 0"
	} else {
		p.PriceCents = int64(cents)
	}
	p.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if p.Currency == "" {
		p.Currency = shared.DefaultCurrency
	} else if !shared.KnownCurrency(p.Currency) {
		fields["currency"] = "must be one of USD, EUR, GBP"
	}
	cat, msg := normalizeCategory(in.Category)
	if msg != "" {
		fields["category"] = msg
	}
	p.Category = cat
	if len(in.Images) > maxImages {
		fields["images"] = fmt.Sprintf("must hold at most %d URLs", maxImages)
	} else {
		p.Images = make([]string, 0, len(in.Images))
		for i, raw := range in.Images {
			u := strings.TrimSpace(raw)
			if msg := checkImageURL(u); msg != "" {
				fields[fmt.Sprintf("images[%d]", i)] = msg
				continue
			}
			p.Images = append(p.Images, u)
		}
	}
	if len(in.Attributes) > maxAttributes {
		fields["attributes"] = fmt.Sprintf("must hold at most %d entries", maxAttributes)
	} else {
		p.Attributes = make(map[string]string, len(in.Attributes))
		for k, v := range in.Attributes {
			if msg := checkAttrKey(k); msg != "" {
				fields["attributes"] = msg
				break
			}
			if utf8.RuneCountInString(v) > maxAttrValueLen || !shared.Printable(v, false) {
				fields["attributes."+k] = fmt.Sprintf("must be text of at most %d characters", maxAttrValueLen)
				continue
			}
			p.Attributes[k] = v
		}
	}
	p.Active = true
	if in.Active != nil {
		p.Active = *in.Active
	}
	var stock int64
	if in.Stock != nil {
		switch {
		case !create:
			fields["stock"] = "is set only on create; adjust stock through inventory"
		case *in.Stock < 0:
			fields["stock"] = "must not be negative"
		case *in.Stock > maxInitialStock:
			fields["stock"] = fmt.Sprintf("must be at most %d", maxInitialStock)
		default:
			stock = *in.Stock
		}
	}
	if len(fields) > 0 {
		return product{}, 0, fields
	}
	return p, stock, nil
}

// normalizeSKU upper-cases and trims s and checks it is 1-64 characters of [A-Z0-9-] (normalizeWord).
func normalizeSKU(s string) (string, string) { return normalizeWord(s, strings.ToUpper, maxSKULen) }

// normalizeCategory lower-cases and trims s and checks it is a slug of 1-50 characters of [a-z0-9-]
// ("home-kitchen").
func normalizeCategory(s string) (string, string) {
	return normalizeWord(s, strings.ToLower, maxCategoryLen)
}

// normalizeWord trims s, checks it is 1 to maxLen characters of ASCII letters, digits and '-' and maps
// its case with toCase. It returns the normal form and "" or the field message saying what is wrong.
// The check comes first: strings.ToUpper and ToLower map a few other letters into ASCII ('ſ' to 'S',
// 'ı' to 'I', the Kelvin sign to 'k'), which would pass for another SKU or category.
func normalizeWord(s string, toCase func(string) string, maxLen int) (string, string) {
	s = strings.TrimSpace(s)
	if shared.IsWord(s, maxLen, "-") {
		s = toCase(s)
	}
	switch {
	case s == "":
		return "", "is required"
	case len(s) > maxLen:
		return "", fmt.Sprintf("must be at most %d characters", maxLen)
	case !shared.IsWord(s, maxLen, "-"):
		return "", "may hold only letters, digits and '-'"
	}
	return s, ""
}

func checkImageURL(s string) string {
	if s == "" || len(s) > maxImageURLLen {
		return fmt.Sprintf("must be an http(s) URL of at most %d characters", maxImageURLLen)
	}
	u, err := url.Parse(s)
	// Printable: the admin's form shows the URL as text, where a bidi override would reorder it.
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || !shared.Printable(s, false) {
		return "must be an absolute http or https URL"
	}
	return ""
}

// checkAttrKey allows keys a document store and a template can use as they are: 1-64 characters of
// letters, digits, '_', '-' and ' ', not starting with '$' (which MongoDB would read as an operator).
func checkAttrKey(k string) string {
	if k == "" || utf8.RuneCountInString(k) > maxAttrKeyLen {
		return fmt.Sprintf("keys must be 1 to %d characters", maxAttrKeyLen)
	}
	for _, r := range k {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == ' ') {
			return fmt.Sprintf("key %q may hold only letters, digits, '_', '-' and spaces", k)
		}
	}
	return ""
}
