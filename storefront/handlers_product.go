package main

import (
	"context"
	"net/http"
	"strconv"

	"github.com/goshop/platform/shared"
)

// Related products: at most maxRelated cards, picked from the first relatedFetch products of the
// category (newest first), so a few sold-out or inactive ones still leave enough to show.
const (
	maxRelated   = 4
	relatedFetch = 12
)

// galleryImage is one image of the product page; N counts from 1 (the ?img= value).
type galleryImage struct {
	N        int
	URL      string
	Selected bool
}

type productView struct {
	layout
	Product product
	Stock   stockView
	// Images are the product's displayable images; Shown is the one in the large frame (nil: the
	// placeholder), chosen by ?img=N so every image is reachable with links alone, no script.
	Images  []galleryImage
	Shown   *galleryImage
	Related []productCard
}

func handleProduct(s *site) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := s.accessToken(r)
		id := r.PathValue("id")
		if len(id) > 128 {
			s.renderError(w, r, &apiError{Status: http.StatusNotFound, Code: shared.CodeNotFound, Message: "No such product."})
			return
		}
		p, err := s.gw.getProduct(r.Context(), token, id, false)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		candidates := s.relatedCandidates(r.Context(), p)
		skus := []string{p.SKU}
		for _, c := range candidates {
			skus = append(skus, c.SKU)
		}
		// One batch call for the product and its candidates. Without it the badge is hidden and no
		// related product is shown (none is known to be in stock); the page itself still renders.
		stock, err := s.gw.stockBySKU(r.Context(), skus)
		if err != nil {
			s.logger.WarnContext(r.Context(), "stock lookup failed", "err", err, "request_id", shared.RequestIDFrom(r.Context()))
		}
		view := productView{layout: s.newLayout(w, r, p.Name), Product: p, Stock: newStockView(p.SKU, stock)}
		view.Images, view.Shown = gallery(p.DisplayImages(), r.URL.Query().Get("img"))
		for _, c := range candidates {
			sv := newStockView(c.SKU, stock)
			if sv.Known && sv.Available > 0 && len(view.Related) < maxRelated {
				view.Related = append(view.Related, productCard{product: c, Stock: sv})
			}
		}
		s.render(w, r, http.StatusOK, "product.html", view)
	})
}

// gallery numbers urls from 1 and marks the one sel names (?img=N); a missing, malformed or out of
// range sel shows the first image, as a link to an image that is gone should still show the product.
func gallery(urls []string, sel string) ([]galleryImage, *galleryImage) {
	if len(urls) == 0 {
		return nil, nil
	}
	n, err := strconv.Atoi(sel)
	if err != nil || n < 1 || n > len(urls) {
		n = 1
	}
	out := make([]galleryImage, len(urls))
	for i, u := range urls {
		out[i] = galleryImage{N: i + 1, URL: u, Selected: i+1 == n}
	}
	return out, &out[n-1]
}

// relatedCandidates are active products of p's category other than p, from the public list. A
// failing list only hides the section.
func (s *site) relatedCandidates(ctx context.Context, p product) []product {
	if p.Category == "" {
		return nil
	}
	list, err := s.gw.listProducts(ctx, "", catalogQuery{Category: p.Category, Sort: "newest", Page: 1, Limit: relatedFetch})
	if err != nil {
		s.logger.WarnContext(ctx, "related products unavailable", "err", err, "request_id", shared.RequestIDFrom(ctx))
		return nil
	}
	out := make([]product, 0, len(list.Items))
	for _, c := range list.Items {
		if c.ID != p.ID && c.SKU != p.SKU && c.Active {
			out = append(out, c)
		}
	}
	return out
}
