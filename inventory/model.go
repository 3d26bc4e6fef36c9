package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/goshop/platform/shared"
)

// Bounds on quantities, so no sum can overflow and no absurd number reaches the store.
const (
	// maxQuantity bounds one order line, one adjustment and initial stock.
	maxQuantity = 1_000_000
	// maxOnHand bounds the stock of one SKU.
	maxOnHand = 1_000_000_000
	// maxOrderLines bounds the lines of one order.
	maxOrderLines = 100
	// maxMovements is how many movements an item keeps (the newest).
	maxMovements = 50
)

// StockItem is the stock of one SKU. Available is always OnHand - Reserved and never negative:
// every change is one conditional update that keeps Reserved <= OnHand. Sold is the units that left
// with paid orders (committed reservations) less those a refund put back; it changes in the same
// write as the commit or restock, so once per order and SKU.
type StockItem struct {
	SKU               string `json:"sku"`
	OnHand            int64  `json:"on_hand"`
	Reserved          int64  `json:"reserved"`
	Available         int64  `json:"available"`
	LowStockThreshold int64  `json:"low_stock_threshold"`
	Sold              int64  `json:"sold"`
	// Inactive is the product's active flag turned over, as product.events last said: a draft or a
	// switched-off product. Such an item is read by admins only (include_inactive).
	Inactive bool `json:"inactive,omitempty"`
	// ProductVersion is the version of the product event that last set Inactive (docs/events.md);
	// an older one, published again by a second product copy, changes nothing.
	ProductVersion int64 `json:"-"`
	// Deleted marks the item of a deleted product: it can no longer be held, and no read shows it.
	Deleted   bool      `json:"deleted,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// visible reports whether a read shows it: never once deleted, when inactive only with
// include_inactive (admins).
func (it StockItem) visible(includeInactive bool) bool {
	return !it.Deleted && (includeInactive || !it.Inactive)
}

// Movement is one recorded change of on-hand stock made by an admin or by product creation.
type Movement struct {
	Delta  int64     `json:"delta" bson:"delta"`
	Reason string    `json:"reason" bson:"reason"`
	Actor  string    `json:"actor,omitempty" bson:"actor,omitempty"`
	At     time.Time `json:"at" bson:"at"`
	// Key is the idempotency record of an adjustment sent with an Idempotency-Key (adjustKey: the
	// key scoped to its actor), Request the fingerprint of that request (adjustFingerprint); both
	// empty otherwise. A key is remembered while its movement is among the item's newest maxMovements.
	Key     string `json:"-" bson:"key,omitempty"`
	Request string `json:"-" bson:"request,omitempty"`
}

// resState is the state of a reservation. The normal life is reserving → held → committed, or
// reserving → rejected, or held → releasing → released. Tombstones record an order event that
// came before order.created: paid_early (commit once reserved), cancelled (never reserve).
type resState string

const (
	stateReserving  resState = "reserving"  // lines being taken; resumed by a redelivered order.created
	stateHeld       resState = "held"       // every line held until expires_at
	stateRejected   resState = "rejected"   // some line was short; nothing held
	stateCommitting resState = "committing" // holds turning into stock that left
	stateCommitted  resState = "committed"  // stock left
	stateReleasing  resState = "releasing"  // holds (or committed stock, on refund) going back
	stateReleased   resState = "released"   // stock back; Reason says why
	statePaidEarly  resState = "paid_early" // order.paid arrived before order.created
	stateCancelled  resState = "cancelled"  // order.cancelled arrived before order.created
)

// Line is one SKU and quantity of an order.
type Line struct {
	SKU      string `json:"sku" bson:"sku"`
	Quantity int64  `json:"quantity" bson:"quantity"`
}

// Shortage is a line that could not be held.
type Shortage struct {
	SKU       string `json:"sku" bson:"sku"`
	Requested int64  `json:"requested" bson:"requested"`
	Available int64  `json:"available" bson:"available"`
}

// Reservation is the idempotency record of one order: at most one per order ID, so the same
// order.created delivered twice reserves once.
type Reservation struct {
	OrderID   string     `bson:"_id"`
	UserID    string     `bson:"user_id"`
	State     resState   `bson:"state"`
	Items     []Line     `bson:"items"`
	Shortages []Shortage `bson:"shortages,omitempty"`
	// Reason is why a reservation was released ("expired", "cancelled") or rejected.
	Reason string `bson:"reason,omitempty"`
	// Committed is set once the stock left, so a release after it restocks (a refund).
	Committed bool `bson:"committed,omitempty"`
	// CommitRequested records an order.paid that came before the reservation was held.
	CommitRequested bool      `bson:"commit_requested,omitempty"`
	ExpiresAt       time.Time `bson:"expires_at"`
	CreatedAt       time.Time `bson:"created_at"`
	UpdatedAt       time.Time `bson:"updated_at"`
	// SettledAt is set when the reservation reaches a state nothing can change any more (rejected,
	// released, cancelled); a TTL index removes such records after reservationRetention.
	SettledAt *time.Time `bson:"settled_at,omitempty"`
	// RefundsCleared records that a refunded reservation's markers (refunds.<order>) were taken off
	// its items (ClearRefunds), refundMarkerRetention after it settled.
	RefundsCleared bool `bson:"refunds_cleared,omitempty"`
}

// reservationRetention is how long settled reservation records are kept: far longer than any
// event could be redelivered, so a duplicate order.created still finds its record. Committed
// reservations are kept for good, since a refund may come at any time.
const reservationRetention = 30 * 24 * time.Hour

// refundMarkerRetention is how long a refund's markers (refunds.<order> on each item, which make the
// restock apply once) stay after its reservation settled as released. Once released, nothing
// restocks that order again (a repeated order.cancelled replays the outcome; Commit leaves a
// committed release alone), so a marker then guards only against a release still running: one that
// read the reservation as releasing before it settled. Such a step is done in seconds, and a stuck
// one is finished by the sweeper after releasingStaleAfter; a day is far beyond both, and well
// within reservationRetention, after which the record, and with it the sweeper's way to find the
// markers, is gone.
const refundMarkerRetention = 24 * time.Hour

// settled reports whether nothing can change a reservation in state st any more.
func settled(st resState) bool {
	return st == stateRejected || st == stateReleased || st == stateCancelled
}

// reservationUpdate is what TransitionReservation sets besides State and UpdatedAt; zero fields are
// left as they are.
type reservationUpdate struct {
	State           resState
	At              time.Time
	UserID          string
	Items           []Line
	Shortages       []Shortage
	Reason          string
	ExpiresAt       time.Time
	Committed       bool
	CommitRequested bool
}

// normalizeSKU trims and upper-cases a SKU and checks it: 1 to 64 characters of A-Z 0-9 . _ -.
// The charset keeps SKUs safe as Mongo field names and in URLs.
func normalizeSKU(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > 64 {
		return "", fmt.Errorf("must be 1 to 64 characters")
	}
	// Checked as typed: strings.ToUpper maps a few other letters into ASCII ('ſ' to 'S', 'ı' to 'I'),
	// which would pass for another SKU.
	if !shared.IsWord(s, 64, "._-") {
		return "", fmt.Errorf("may hold only letters, digits, '.', '_' and '-'")
	}
	return strings.ToUpper(s), nil
}

// validOrderID reports whether id can be an order ID: 1 to 64 characters of A-Z a-z 0-9 _ -. Order IDs
// become Mongo field names (holds.<order>), so '.' and '$' must never get through.
func validOrderID(id string) bool { return shared.IsWord(id, 64, "_-") }
