package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/goshop/platform/shared"
)

// demoProduct is one entry of the demo catalog, written as an admin would POST it.
type demoProduct struct {
	SKU, Name, Description, Price, Category string
	Stock                                   int64
	Attributes                              map[string]string
}

// demoImage is the image URL of a demo product: a stable placeholder photo per SKU from
// picsum.photos, 600×400. The storefront shows it as it is; nothing is downloaded at seed time.
func demoImage(sku string) string { return "https://picsum.photos/seed/" + sku + "/600/400" }

// demoCatalog is seeded into an empty store (SEED_DEMO_DATA, default true): 30 products in 5
// categories, stock from 3 (to show low-stock alerts) to 250.
var demoCatalog = []demoProduct{
	{"ELEC-HP-001", "Aurora Wireless Headphones", "Over-ear Bluetooth 5.3 headphones with active noise cancelling, 40-hour battery and USB-C fast charging.", "149.99", "electronics", 60, map[string]string{"brand": "Aurora", "color": "black"}},
	{"ELEC-SPK-002", "Pulse Mini Bluetooth Speaker", "Pocket-sized waterproof (IP67) speaker with deep bass and 12 hours of playback.", "39.99", "electronics", 120, map[string]string{"brand": "Pulse", "color": "teal"}},
	{"ELEC-KB-003", "Keystone Mechanical Keyboard", "Tenkeyless mechanical keyboard with hot-swappable brown switches and white backlight.", "89.00", "electronics", 45, map[string]string{"layout": "US", "switches": "brown"}},
	{"ELEC-MS-004", "Glide Ergonomic Mouse", "Vertical wireless mouse that keeps your wrist neutral; silent clicks, 3 DPI levels.", "34.50", "electronics", 80, map[string]string{"connectivity": "2.4 GHz + Bluetooth"}},
	{"ELEC-CAM-005", "Lumen 4K Webcam", "4K webcam with autofocus, dual microphones and a privacy shutter for crisp video calls.", "119.00", "electronics", 3, map[string]string{"resolution": "3840x2160"}},
	{"ELEC-CHG-006", "VoltDock 65W USB-C Charger", "Compact GaN charger with two USB-C and one USB-A port; charges a laptop and a phone at once.", "45.99", "electronics", 150, map[string]string{"power": "65 W"}},
	{"BOOK-GO-001", "The Go Programming Language", "Donovan and Kernighan's classic introduction to Go, from basics to concurrency and testing.", "39.95", "books", 40, map[string]string{"author": "Alan Donovan, Brian Kernighan", "format": "paperback"}},
	{"BOOK-DDIA-002", "Designing Data-Intensive Applications", "Martin Kleppmann on the ideas behind reliable, scalable and maintainable data systems.", "54.99", "books", 35, map[string]string{"author": "Martin Kleppmann", "format": "paperback"}},
	{"BOOK-SRE-003", "Site Reliability Engineering", "How Google runs production systems: monitoring, incident response, and error budgets.", "44.00", "books", 25, map[string]string{"author": "Beyer, Jones, Petoff, Murphy", "format": "paperback"}},
	{"BOOK-PRAG-004", "The Pragmatic Programmer", "Twentieth anniversary edition of the guide to becoming a better, more adaptable programmer.", "42.50", "books", 50, map[string]string{"author": "David Thomas, Andrew Hunt", "format": "hardcover"}},
	{"BOOK-COOK-005", "Salt, Fat, Acid, Heat", "Samin Nosrat's illustrated guide to the four elements of good cooking.", "29.99", "books", 30, map[string]string{"author": "Samin Nosrat", "format": "hardcover"}},
	{"BOOK-SCI-006", "A Brief History of Time", "Stephen Hawking explains black holes, the big bang and the nature of time for every reader.", "18.99", "books", 5, map[string]string{"author": "Stephen Hawking", "format": "paperback"}},
	{"HOME-KET-001", "Copper Pour-Over Kettle", "1-litre gooseneck kettle with a built-in thermometer for precise pour-over coffee.", "59.00", "home-kitchen", 40, map[string]string{"capacity": "1 L", "material": "stainless steel"}},
	{"HOME-PAN-002", "Cast Iron Skillet 12\"", "Pre-seasoned cast iron pan that goes from stovetop to oven to campfire.", "36.95", "home-kitchen", 70, map[string]string{"diameter": "30 cm"}},
	{"HOME-KNF-003", "Santoku Chef Knife", "17 cm Japanese-style knife of high-carbon steel with a pakkawood handle.", "74.00", "home-kitchen", 25, map[string]string{"blade": "17 cm"}},
	{"HOME-MUG-004", "Stoneware Mug Set (4)", "Four hand-glazed 350 ml stoneware mugs, dishwasher and microwave safe.", "32.00", "home-kitchen", 90, map[string]string{"color": "sand"}},
	{"HOME-LMP-005", "Arc Desk Lamp", "Dimmable LED desk lamp with adjustable colour temperature and a USB charging port.", "49.99", "home-kitchen", 55, map[string]string{"power": "8 W"}},
	{"HOME-BLK-006", "Merino Throw Blanket", "Soft, breathable merino wool throw, 130 × 180 cm, in heather grey.", "89.50", "home-kitchen", 20, map[string]string{"material": "merino wool"}},
	{"CLO-TEE-001", "Organic Cotton T-Shirt", "Heavyweight crew-neck tee in 100% organic cotton, pre-shrunk.", "24.00", "clothing", 250, map[string]string{"size": "M", "color": "navy"}},
	{"CLO-HOOD-002", "Trail Fleece Hoodie", "Midweight recycled fleece hoodie with a zip chest pocket.", "64.99", "clothing", 75, map[string]string{"size": "L", "color": "forest green"}},
	{"CLO-JKT-003", "Stormline Rain Jacket", "Waterproof, breathable 2.5-layer shell with taped seams and a packable hood.", "129.00", "clothing", 30, map[string]string{"size": "M", "color": "yellow"}},
	{"CLO-JNS-004", "Selvedge Denim Jeans", "Straight-fit raw selvedge denim, 14 oz, made to fade with wear.", "98.00", "clothing", 40, map[string]string{"waist": "32", "length": "32"}},
	{"CLO-SCK-005", "Wool Hiking Socks (3 pairs)", "Cushioned merino blend socks that stay warm and dry on long walks.", "21.50", "clothing", 160, map[string]string{"size": "M"}},
	{"CLO-CAP-006", "Canvas Baseball Cap", "Six-panel washed canvas cap with an adjustable brass buckle.", "19.99", "clothing", 4, map[string]string{"color": "khaki"}},
	{"SPRT-YOGA-001", "Grip Yoga Mat", "6 mm non-slip natural rubber yoga mat with alignment lines.", "45.00", "sports", 65, map[string]string{"thickness": "6 mm"}},
	{"SPRT-DMB-002", "Adjustable Dumbbell 24 kg", "Dial-select dumbbell that replaces 15 pairs, from 2.5 to 24 kg.", "199.00", "sports", 12, map[string]string{"max weight": "24 kg"}},
	{"SPRT-BTL-003", "Insulated Water Bottle 750 ml", "Double-wall stainless bottle keeps drinks cold for 24 hours or hot for 12.", "27.95", "sports", 200, map[string]string{"capacity": "750 ml"}},
	{"SPRT-RUN-004", "Stride Running Shoes", "Lightweight neutral running shoes with a responsive foam midsole.", "119.99", "sports", 50, map[string]string{"size": "42", "color": "white"}},
	{"SPRT-BAND-005", "Resistance Band Set", "Five latex bands from extra light to extra heavy, with a carry bag.", "22.00", "sports", 110, map[string]string{"pieces": "5"}},
	{"SPRT-TENT-006", "Ridge 2-Person Tent", "Freestanding three-season backpacking tent, 1.9 kg, sets up in five minutes.", "249.00", "sports", 8, map[string]string{"weight": "1.9 kg", "capacity": "2"}},
}

// demoInput returns the create body for d, as an admin would POST it.
func demoInput(d demoProduct) productInput {
	stock := d.Stock
	return productInput{SKU: d.SKU, Name: d.Name, Description: d.Description, Price: json.RawMessage(d.Price),
		Currency: "USD", Category: d.Category, Images: []string{demoImage(d.SKU)}, Attributes: d.Attributes, Stock: &stock}
}

// seedDemo adds demoCatalog to the store (run only decides to when the store was empty at start),
// each product with its product.created event (so inventory creates the stock items), then wakes the
// outbox relay. Products whose SKU exists are skipped, so a retry after a failure half-way and several
// instances seeding at once both end with each product created once.
func seedDemo(ctx context.Context, logger *slog.Logger, store productStore, wake func()) error {
	created := make([]product, 0, len(demoCatalog))
	for _, d := range demoCatalog {
		p, stock, fields := demoInput(d).toProduct(true)
		if fields != nil {
			return fmt.Errorf("demo product %s: invalid: %v", d.SKU, fields)
		}
		p, err := createProduct(ctx, store, p, stock)
		if errors.Is(err, shared.ErrConflict) {
			continue // another instance seeded it
		}
		if err != nil {
			return fmt.Errorf("seed %s: %w", d.SKU, err)
		}
		created = append(created, p)
	}
	logger.Info("demo catalog seeded", "products", len(created))
	wake()
	return nil
}
