package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync/atomic"
	"time"

	"github.com/goshop/platform/shared"
	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"
)

// Sort orders of the product list.
const (
	sortPrice     = "price"
	sortPriceDesc = "-price"
	sortNewest    = "newest"
	sortName      = "name"
	sortRelevance = "relevance"
)

// productQuery selects a page of visible (active, not deleted) products, or with IncludeInactive of
// every product not deleted. Zero fields do not filter; MaxCents 0 means no upper bound. Page starts
// at 1.
type productQuery struct {
	IncludeInactive bool
	Active          *bool  // only products with this active flag (false needs IncludeInactive)
	SKU             string // a prefix of the normalised (upper-case) SKU
	Category        string
	Q               string
	MinCents        int64
	MaxCents        int64
	Sort            string
	Page            int
	Limit           int
}

// categoryCount is one entry of GET /categories.
type categoryCount struct {
	Name  string `json:"name" bson:"_id"`
	Count int    `json:"count" bson:"count"`
}

// productStore is the catalog's storage. Every method wraps shared.ErrNotFound, shared.ErrConflict or
// shared.ErrUnavailable where named, and anything else as an internal error with the operation's name.
// Each write is one atomic operation on one document: the change and its outbox event together.
type productStore interface {
	// Create inserts p (ID, SKU and timestamps set by the caller) at version 1 with ev in its outbox.
	// ErrConflict when the SKU (or ID) already exists, deleted products included; ErrUnavailable
	// while uniqueness cannot be enforced yet (Mongo indexes not created).
	Create(ctx context.Context, p product, ev outboxEvent) error
	// Get returns the product with id, deleted or not. ErrNotFound when absent.
	Get(ctx context.Context, id string) (product, error)
	// GetBySKU returns the product with the normalised sku, deleted or not. ErrNotFound when absent.
	GetBySKU(ctx context.Context, sku string) (product, error)
	// Update replaces the mutable fields (name, description, price, currency, category, images,
	// attributes, active, updated_at) of the product with p.ID and p.SKU if it is not deleted and
	// still at p.Version, increments its version, adds ev to its outbox, and returns the product as
	// stored afterwards. ErrNotFound when no such live product; ErrConflict when it has moved past
	// p.Version (another write won; read it again and retry).
	Update(ctx context.Context, p product, ev outboxEvent) (product, error)
	// Delete soft-deletes the live product p.ID+p.SKU at version p.Version at the time at (active
	// false, deleted_at set, version incremented), adds ev to its outbox and returns the product
	// afterwards. ErrNotFound when absent or already deleted; ErrConflict as for Update.
	Delete(ctx context.Context, p product, at time.Time, ev outboxEvent) (product, error)
	// List returns one page of the products matching q and the total number matching.
	List(ctx context.Context, q productQuery) ([]product, int, error)
	// Categories returns every category with its number of visible products, by name; with
	// includeInactive, of products not deleted (a category of drafts only is listed too).
	Categories(ctx context.Context, includeInactive bool) ([]categoryCount, error)
	// Count returns the number of products, deleted ones included (zero means "seed me").
	Count(ctx context.Context) (int, error)
	// Pending returns up to limit products that have unacknowledged outbox events.
	Pending(ctx context.Context, limit int) ([]product, error)
	// Ack removes the events with ids from product id's outbox; ids already gone are ignored.
	Ack(ctx context.Context, id string, eventIDs []string) error
}

// mongoProductStore keeps products in one collection ("products"). Indexes: productIndexes,
// nameIndexes, a text index on name (weight 10) and description (weight 2).
type mongoProductStore struct {
	coll   *mongo.Collection
	logger *slog.Logger
	// text is true once the text index exists; until then, and on servers without text indexes
	// (FerretDB), q is matched with a case-insensitive $regex of the quoted query.
	text atomic.Bool
	// noCollation is set once the server refused a collation (FerretDB): sort=name is byte order then.
	noCollation atomic.Bool
	// indexed is true once the unique SKU index exists. Until then Create refuses (ErrUnavailable):
	// a duplicate SKU written before the index would make its creation fail forever.
	indexed atomic.Bool
}

var _ productStore = (*mongoProductStore)(nil)

func newMongoProductStore(db *mongo.Database, logger *slog.Logger) *mongoProductStore {
	return &mongoProductStore{coll: db.Collection("products"), logger: logger}
}

// productIndexes are the indexes every server must take: sku unique, pending (the relay), and one per
// list order (listSort), whole catalog and by category. Each ends in the order's keys, _id included:
// an index that stops short of the tie-breaker cannot give the order, and MongoDB then reads every
// product that matches (the whole catalog for the default list) and sorts them in memory on every
// page. Indexes are matched by name (shared.EnsureIndexes): the older category_price, which stopped
// at price_cents, is no longer used and an operator may drop it.
var productIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "sku", Value: 1}}, Options: options.Index().SetUnique(true).SetName("sku_unique")},
	{Keys: bson.D{{Key: "pending", Value: 1}}, Options: options.Index().SetName("pending")},
	{Keys: bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("created")},
	{Keys: bson.D{{Key: "category", Value: 1}, {Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("category_created")},
	{Keys: bson.D{{Key: "price_cents", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("price")},
	{Keys: bson.D{{Key: "category", Value: 1}, {Key: "price_cents", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("category_price_id")},
}

// nameIndexes serve sort=name, whose order is nameCollation's: an index serves a sort only under
// the same collation. A server that refuses collations (FerretDB) refuses these too (logged, not
// fatal), and sorts by bytes without an index.
var nameIndexes = []mongo.IndexModel{
	{Keys: bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("name").SetCollation(nameCollation)},
	{Keys: bson.D{{Key: "category", Value: 1}, {Key: "name", Value: 1}, {Key: "_id", Value: 1}}, Options: options.Index().SetName("category_name").SetCollation(nameCollation)},
}

// EnsureIndexes creates the indexes that do not exist yet (shared.EnsureIndexes). A server that
// refuses the text index is logged and q falls back to $regex, one that refuses nameIndexes is
// logged; any other failure is returned (the caller retries while Mongo is down).
func (s *mongoProductStore) EnsureIndexes(ctx context.Context) error {
	if err := shared.EnsureIndexes(ctx, s.coll, "products.indexes", productIndexes...); err != nil {
		return err
	}
	s.indexed.Store(true)
	// Never fatal: sort=name works without them (slower), and a server that cannot take them must
	// not keep the service from getting ready; the next start tries again.
	if err := shared.EnsureIndexes(ctx, s.coll, "products.indexes", nameIndexes...); err != nil {
		s.logger.Warn("collated name indexes not created, sort=name sorts without an index", "err", err)
	}
	err := shared.EnsureIndexes(ctx, s.coll, "products.indexes", mongo.IndexModel{
		Keys:    bson.D{{Key: "name", Value: "text"}, {Key: "description", Value: "text"}},
		Options: options.Index().SetName("text").SetWeights(bson.D{{Key: "name", Value: 10}, {Key: "description", Value: 2}}),
	})
	if err != nil {
		if errors.Is(err, shared.ErrUnavailable) {
			return err
		}
		s.logger.Warn("text index not supported, product search falls back to $regex", "err", err)
		return nil
	}
	s.text.Store(true)
	return nil
}

// nameCollation orders names for sort=name: English rules, case and nothing else ignored (strength 2:
// "apple" = "Apple" < "Banana"; accents still count). The in-memory store compares lower-cased names
// (memProduct.nameFold; ICU's rules for accents and other scripts are not copied there).
var nameCollation = &options.Collation{Locale: "en", Strength: 2}

// isNotImplemented reports a server's NotImplemented answer (code 238), FerretDB's for a collation.
func isNotImplemented(err error) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(238)
}

// collates reports whether sort=name follows nameCollation (false on a server without collations).
func (s *mongoProductStore) collates() bool { return !s.noCollation.Load() }

// IndexCheck is a readiness check: an error until EnsureIndexes has created the unique SKU index.
func (s *mongoProductStore) IndexCheck(context.Context) error {
	if !s.indexed.Load() {
		return errors.New("indexes not created yet")
	}
	return nil
}

func (s *mongoProductStore) Create(ctx context.Context, p product, ev outboxEvent) error {
	if !s.indexed.Load() {
		return fmt.Errorf("products.create: %w: the unique SKU index is not created yet", shared.ErrUnavailable)
	}
	p.Outbox = map[string]outboxEvent{ev.ID: ev}
	p.Pending = 1
	p.Version = 1
	_, err := s.coll.InsertOne(ctx, p)
	return shared.MongoErr("products.create", err)
}

func (s *mongoProductStore) Get(ctx context.Context, id string) (product, error) {
	return s.findOne(ctx, "products.get", bson.D{{Key: "_id", Value: id}})
}

func (s *mongoProductStore) GetBySKU(ctx context.Context, sku string) (product, error) {
	return s.findOne(ctx, "products.get_by_sku", bson.D{{Key: "sku", Value: sku}})
}

func (s *mongoProductStore) findOne(ctx context.Context, op string, filter bson.D) (product, error) {
	return shared.FindOne[product](ctx, s.coll, op, filter, options.FindOne().SetProjection(bson.D{{Key: "outbox", Value: 0}}))
}

func (s *mongoProductStore) Update(ctx context.Context, p product, ev outboxEvent) (product, error) {
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "name", Value: p.Name}, {Key: "description", Value: p.Description},
			{Key: "price_cents", Value: p.PriceCents}, {Key: "currency", Value: p.Currency},
			{Key: "category", Value: p.Category}, {Key: "images", Value: p.Images},
			{Key: "attributes", Value: p.Attributes}, {Key: "active", Value: p.Active},
			{Key: "updated_at", Value: p.UpdatedAt}, {Key: "outbox." + ev.ID, Value: ev},
		}},
		{Key: "$inc", Value: bson.D{{Key: "pending", Value: 1}, {Key: "version", Value: 1}}},
	}
	return s.conditionalUpdate(ctx, "products.update", p, update)
}

func (s *mongoProductStore) Delete(ctx context.Context, p product, at time.Time, ev outboxEvent) (product, error) {
	update := bson.D{
		{Key: "$set", Value: bson.D{
			{Key: "active", Value: false}, {Key: "deleted_at", Value: at}, {Key: "updated_at", Value: at},
			{Key: "outbox." + ev.ID, Value: ev},
		}},
		{Key: "$inc", Value: bson.D{{Key: "pending", Value: 1}, {Key: "version", Value: 1}}},
	}
	return s.conditionalUpdate(ctx, "products.delete", p, update)
}

// conditionalUpdate applies update to the live product cur.ID+cur.SKU still at cur.Version and returns
// it afterwards. When nothing matched, a second read tells ErrNotFound from ErrConflict.
func (s *mongoProductStore) conditionalUpdate(ctx context.Context, op string, cur product, update bson.D) (product, error) {
	var version any = cur.Version
	if cur.Version == 0 {
		version = nil // written before versions existed
	}
	filter := bson.D{{Key: "_id", Value: cur.ID}, {Key: "sku", Value: cur.SKU}, {Key: "deleted_at", Value: nil}, {Key: "version", Value: version}}
	var p product
	err := s.coll.FindOneAndUpdate(ctx, filter, update, options.FindOneAndUpdate().SetReturnDocument(options.After)).Decode(&p)
	if errors.Is(err, mongo.ErrNoDocuments) {
		now, gerr := s.Get(ctx, cur.ID)
		if gerr == nil && now.SKU == cur.SKU && now.DeletedAt == nil {
			return product{}, fmt.Errorf("%s: %w: version %d is stale (now %d)", op, shared.ErrConflict, cur.Version, now.Version)
		}
	}
	return p, shared.MongoErr(op, err)
}

func (s *mongoProductStore) List(ctx context.Context, q productQuery) ([]product, int, error) {
	filter := bson.D{{Key: "deleted_at", Value: nil}}
	if !q.IncludeInactive {
		filter = append(filter, bson.E{Key: "active", Value: true})
	}
	if q.Active != nil && q.IncludeInactive {
		filter = append(filter, bson.E{Key: "active", Value: *q.Active})
	}
	if q.SKU != "" {
		filter = append(filter, bson.E{Key: "sku", Value: shared.PrefixRegex(q.SKU)})
	}
	if q.Category != "" {
		filter = append(filter, bson.E{Key: "category", Value: q.Category})
	}
	if q.MinCents > 0 || q.MaxCents > 0 {
		rng := bson.D{}
		if q.MinCents > 0 {
			rng = append(rng, bson.E{Key: "$gte", Value: q.MinCents})
		}
		if q.MaxCents > 0 {
			rng = append(rng, bson.E{Key: "$lte", Value: q.MaxCents})
		}
		filter = append(filter, bson.E{Key: "price_cents", Value: rng})
	}
	text := q.Q != "" && s.text.Load()
	if text {
		filter = append(filter, bson.E{Key: "$text", Value: bson.D{{Key: "$search", Value: q.Q}}})
	} else if q.Q != "" {
		// The query is quoted, so it is matched literally: no client text becomes a pattern.
		re := bson.D{{Key: "$regex", Value: regexp.QuoteMeta(q.Q)}, {Key: "$options", Value: "i"}}
		filter = append(filter, bson.E{Key: "$or", Value: bson.A{
			bson.D{{Key: "name", Value: re}}, bson.D{{Key: "description", Value: re}},
		}})
	}
	total, err := s.coll.CountDocuments(ctx, filter)
	if err != nil {
		return nil, 0, shared.MongoErr("products.list.count", err)
	}
	projection := bson.D{{Key: "outbox", Value: 0}}
	if q.Sort == sortRelevance && text {
		projection = bson.D{{Key: "score", Value: textScore}}
	}
	sort := listSort(q.Sort, text)
	opts := options.Find().SetSort(sort).SetSkip(int64((q.Page - 1) * q.Limit)).SetLimit(int64(q.Limit)).SetProjection(projection)
	collated := q.Sort == sortName && !s.noCollation.Load()
	if collated {
		// Names in the order people read them ("iPad" beside "Ink", not after "Zebra"), not byte order.
		opts.SetCollation(nameCollation)
	}
	out, err := shared.FindAll[product](ctx, s.coll, "products.list", filter, opts)
	if collated && isNotImplemented(err) {
		s.logger.Warn("collation not supported, sort=name falls back to byte order", "err", err)
		s.noCollation.Store(true)
		out, err = shared.FindAll[product](ctx, s.coll, "products.list", filter, opts.SetCollation(nil))
	}
	if err != nil {
		return nil, 0, err
	}
	for i := range out {
		out[i].Outbox = nil // the textScore projection cannot exclude fields at the same time
	}
	return out, int(total), nil
}

// textScore is a $text match's relevance, projected and sorted by for sort=relevance.
var textScore = bson.D{{Key: "$meta", Value: "textScore"}}

// listSort is List's order for sort (text: q is matched by the text index, so relevance is its
// score; without it relevance is newest). Every order ends in _id, a total order so pages never
// overlap; -price is price reversed, ties included, so one index serves both (productIndexes).
func listSort(sort string, text bool) bson.D {
	switch sort {
	case sortPrice:
		return bson.D{{Key: "price_cents", Value: 1}, {Key: "_id", Value: 1}}
	case sortPriceDesc:
		return bson.D{{Key: "price_cents", Value: -1}, {Key: "_id", Value: -1}}
	case sortName:
		return bson.D{{Key: "name", Value: 1}, {Key: "_id", Value: 1}}
	case sortRelevance:
		if text {
			return bson.D{{Key: "score", Value: textScore}, {Key: "_id", Value: 1}}
		}
	}
	return bson.D{{Key: "created_at", Value: -1}, {Key: "_id", Value: 1}}
}

func (s *mongoProductStore) Categories(ctx context.Context, includeInactive bool) ([]categoryCount, error) {
	match := bson.D{{Key: "deleted_at", Value: nil}}
	if !includeInactive {
		match = append(match, bson.E{Key: "active", Value: true})
	}
	cur, err := s.coll.Aggregate(ctx, mongo.Pipeline{
		{{Key: "$match", Value: match}},
		{{Key: "$group", Value: bson.D{{Key: "_id", Value: "$category"}, {Key: "count", Value: bson.D{{Key: "$sum", Value: 1}}}}}},
		{{Key: "$sort", Value: bson.D{{Key: "_id", Value: 1}}}},
	})
	if err != nil {
		return nil, shared.MongoErr("products.categories", err)
	}
	out := []categoryCount{}
	if err := cur.All(ctx, &out); err != nil {
		return nil, shared.MongoErr("products.categories", err)
	}
	return out, nil
}

func (s *mongoProductStore) Count(ctx context.Context) (int, error) {
	n, err := s.coll.CountDocuments(ctx, bson.D{})
	return int(n), shared.MongoErr("products.count", err)
}

func (s *mongoProductStore) Pending(ctx context.Context, limit int) ([]product, error) {
	return shared.FindAll[product](ctx, s.coll, "products.pending", bson.D{{Key: "pending", Value: bson.D{{Key: "$gt", Value: 0}}}},
		options.Find().SetLimit(int64(limit)).SetSort(bson.D{{Key: "updated_at", Value: 1}}))
}

func (s *mongoProductStore) Ack(ctx context.Context, id string, eventIDs []string) error {
	var errs []error
	for _, eid := range eventIDs {
		// Conditional on the key, so pending drops once per event even when two instances ack it.
		_, err := s.coll.UpdateOne(ctx,
			bson.D{{Key: "_id", Value: id}, {Key: "outbox." + eid, Value: bson.D{{Key: "$exists", Value: true}}}},
			bson.D{{Key: "$unset", Value: bson.D{{Key: "outbox." + eid, Value: ""}}}, {Key: "$inc", Value: bson.D{{Key: "pending", Value: -1}}}})
		if err != nil {
			errs = append(errs, shared.MongoErr("products.ack", err))
		}
	}
	return errors.Join(errs...)
}
