package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goshop/platform/shared"
)

// productForm is the create/edit form as typed, re-shown with field messages when refused.
type productForm struct {
	ID          string
	SKU         string
	Name        string
	Description string
	Price       string
	Currency    string
	Category    string
	Images      string // one URL per line
	Active      bool
	Stock       string
}

type adminProductFormView struct {
	layout
	Form    productForm
	IsNew   bool
	Errors  map[string]string
	Message string
	// Back is the products list the admin came from, as it was filtered (listReturn): Cancel leads
	// there, and so does a save.
	Back string
}

// productBody is the JSON the product API takes for create (with stock) and update (without).
type productBody struct {
	SKU         string      `json:"sku"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Price       json.Number `json:"price"`
	Currency    string      `json:"currency"`
	Category    string      `json:"category"`
	Images      []string    `json:"images"`
	Active      bool        `json:"active"`
	Stock       *int        `json:"stock,omitempty"`
}

func readProductForm(r *http.Request) productForm {
	return productForm{
		SKU: strings.TrimSpace(r.PostFormValue("sku")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")), Price: strings.TrimSpace(r.PostFormValue("price")),
		Currency: strings.ToUpper(strings.TrimSpace(r.PostFormValue("currency"))), Category: strings.TrimSpace(r.PostFormValue("category")),
		Images: strings.TrimSpace(r.PostFormValue("images")), Active: r.PostFormValue("active") != "", Stock: strings.TrimSpace(r.PostFormValue("stock")),
	}
}

// body checks the form and builds the API body; field messages come back keyed by input name.
func (f productForm) body(isNew bool) (productBody, map[string]string) {
	errs := map[string]string{}
	b := productBody{SKU: f.SKU, Name: f.Name, Description: f.Description, Currency: f.Currency, Category: f.Category, Active: f.Active, Images: []string{}}
	// The product API's rule (stricter than validSKU, which reads SKUs of any origin): no '_' or '.'.
	if !shared.IsWord(f.SKU, 64, "-") {
		errs["sku"] = "SKU: 1–64 letters, digits or '-'."
	}
	if f.Name == "" || utf8.RuneCountInString(f.Name) > 200 {
		errs["name"] = "Name is required (at most 200 characters)."
	}
	if utf8.RuneCountInString(f.Description) > 5000 {
		errs["description"] = "Description is too long (at most 5,000 characters)."
	}
	if c, err := shared.ParseCents(strings.TrimSpace(f.Price)); err != nil || c == 0 {
		errs["price"] = "Price must be an amount like 19.99, above zero."
	} else {
		b.Price = json.Number(c.String())
	}
	if b.Currency == "" {
		b.Currency = "USD"
	}
	if len(b.Currency) != 3 {
		errs["currency"] = "Currency is a 3-letter code such as USD."
	}
	if f.Category == "" || len(f.Category) > 64 {
		errs["category"] = "Category is required (at most 64 characters)."
	}
	for _, line := range strings.Split(f.Images, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		u, err := url.Parse(line)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs["images"] = "Images are https:// URLs, one per line."
			continue
		}
		if u.Scheme == "http" {
			// The API takes it, but the shop's pages load images over HTTPS only (contentSecurityPolicy).
			errs["images"] = "Images must be https:// URLs: the shop does not show images over plain http (browsers block them)."
			continue
		}
		b.Images = append(b.Images, line)
	}
	if isNew {
		n, err := strconv.Atoi(f.Stock)
		if f.Stock == "" {
			n, err = 0, nil
		}
		if err != nil || n < 0 || n > 1_000_000 {
			errs["stock"] = "Initial stock is a whole number from 0."
		} else {
			b.Stock = &n
		}
	}
	return b, errs
}

func handleAdminProductNew(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		view := adminProductFormView{layout: s.newLayout(w, r, "New product"), IsNew: true, Form: productForm{Currency: "USD", Active: true, Stock: "10"}}
		s.render(w, r, http.StatusOK, "admin_product_form.html", view)
	})
}

// saveProduct creates (id == "") or updates a product from the posted form, re-showing it with the
// local or the API's field messages when refused.
func (s *site) saveProduct(w http.ResponseWriter, r *http.Request, id string) {
	isNew := id == ""
	form := readProductForm(r)
	form.ID = id
	title := "Edit product"
	if isNew {
		title = "New product"
	}
	body, errs := form.body(isNew)
	fail := func(status int, msg string) {
		view := adminProductFormView{layout: s.newLayout(w, r, title), Form: form, IsNew: isNew, Errors: errs, Message: msg,
			Back: listReturn(r, "/admin/products")}
		s.render(w, r, status, "admin_product_form.html", view)
	}
	if len(errs) > 0 {
		fail(http.StatusBadRequest, "Please correct the marked fields.")
		return
	}
	c := call{method: http.MethodPost, path: "/product/products", token: s.accessToken(r), body: body}
	if !isNew {
		c.method, c.path = http.MethodPut, "/product/products/"+url.PathEscape(id)
	}
	if _, err := s.gw.do(r.Context(), c); err != nil {
		ae := asAPIError(err)
		if ae.Status >= 500 || ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized {
			s.renderError(w, r, err)
			return
		}
		fields := make(map[string]string, len(ae.Fields))
		for k, v := range ae.Fields {
			// The API names a refused image by its index (images[1]); the form has one field for all.
			if i, ok := strings.CutPrefix(k, "images["); ok {
				n, _ := strconv.Atoi(strings.TrimSuffix(i, "]"))
				k, v = "images", fmt.Sprintf("Image %d: %s", n+1, v)
			}
			errs[k], fields[k] = v, v
		}
		ae.Fields = fields
		fail(ae.Status, ae.FormMessage("sku", "name", "description", "price", "currency", "category", "images", "stock"))
		return
	}
	s.flash(w, "saved")
	redirect(w, r, listReturn(r, "/admin/products"))
}

func handleAdminProductCreate(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.saveProduct(w, r, "") })
}

// adminProduct reads, as the caller, the product of an admin product page, inactive ones included;
// when it returns false the error page has been written.
func (s *site) adminProduct(w http.ResponseWriter, r *http.Request) (product, bool) {
	id, ok := s.idParam(w, r, "product")
	if !ok {
		return product{}, false
	}
	p, err := s.gw.getProduct(r.Context(), s.accessToken(r), id, true)
	if err != nil {
		s.renderError(w, r, err)
		return product{}, false
	}
	return p, true
}

func handleAdminProductEdit(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.adminProduct(w, r)
		if !ok {
			return
		}
		form := productForm{ID: p.ID, SKU: p.SKU, Name: p.Name, Description: p.Description, Price: string(p.Price),
			Currency: p.Currency, Category: p.Category, Images: strings.Join(p.Images, "\n"), Active: p.Active}
		if c, err := shared.ParseCents(string(p.Price)); err == nil {
			form.Price = c.String()
		}
		view := adminProductFormView{layout: s.newLayout(w, r, "Edit "+p.Name), Form: form, Back: listReturn(r, "/admin/products")}
		s.render(w, r, http.StatusOK, "admin_product_form.html", view)
	})
}

func handleAdminProductUpdate(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "product")
		if !ok {
			return
		}
		s.saveProduct(w, r, id)
	})
}

type adminProductDeleteView struct {
	layout
	Product product
	Back    string // as adminProductFormView.Back
}

// handleAdminProductDeleteConfirm asks before deleting: without JavaScript there is no confirm()
// dialog, and a one-click delete in a long list is too easy to hit.
func handleAdminProductDeleteConfirm(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := s.adminProduct(w, r)
		if !ok {
			return
		}
		s.render(w, r, http.StatusOK, "admin_product_delete.html", adminProductDeleteView{layout: s.newLayout(w, r, "Delete "+p.Name), Product: p,
			Back: listReturn(r, "/admin/products")})
	})
}

func handleAdminProductDelete(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.idParam(w, r, "product")
		if !ok {
			return
		}
		_, err := s.gw.do(r.Context(), call{method: http.MethodDelete, path: "/product/products/" + url.PathEscape(id), token: s.accessToken(r)})
		switch {
		case isStatus(err, http.StatusNotFound):
			// Most likely the second click of a double submit, or another admin was quicker: either
			// way the product is gone, which is what was asked.
			s.flash(w, "alreadydeleted")
		case err != nil:
			s.renderError(w, r, err)
			return
		default:
			s.flash(w, "deleted")
		}
		redirect(w, r, listReturn(r, "/admin/products"))
	})
}
