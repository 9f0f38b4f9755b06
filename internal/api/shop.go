package api

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/audit"
	"github.com/kefu-desk/kefu/internal/shop"
)

// shopRoutes are the shops, their catalogue and their orders. Everyone
// signed in reads them (shop:read for tokens); only administrators and
// the integrations they give shop:write change them; the store's own
// webhook is public and authenticated by its signature.
func (s *Server) shopRoutes() {
	const (
		get, post, patch, put   = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut
		shopR, shopW, adminOnly = "shop:read", "shop:write", "admin"
	)
	op(s, get, "/shops", "list-shops", "The shops whose orders Kefu mirrors", shopR, s.listShops)
	op(s, post, "/shops", "create-shop", "Add a shop; its webhook secret is shown once", adminOnly, s.createShop, 201)
	op(s, get, "/shops/{code}", "get-shop", "Get a shop", shopR, s.getShop)
	op(s, patch, "/shops/{code}", "update-shop", "Change a shop's name, zone, currency, default terms or notices; send If-Match", adminOnly, s.updateShop)
	op(s, post, "/shops/{code}/secret", "rotate-shop-secret", "Give the shop a new webhook secret, shown once; the old one verifies for 24 more hours", adminOnly, s.rotateSecret)
	s.webhookRoute()

	op(s, get, "/products", "list-products", "List a shop's products, newest first, with filters and cursor paging", shopR, s.listProducts)
	op(s, post, "/products", "create-product", "Add a product with its SKUs; a code the shop has is a conflict", shopW, s.createProduct, 201)
	op(s, get, "/products/{id}", "get-product", "Get a product by id or by the shop's code, with its SKUs and their terms", shopR, s.getProduct)
	register(s, huma.Operation{OperationID: "upsert-product", Method: put, Path: "/products/{id}",
		Summary: "Create or replace the product with this code (201 when created); SKUs left out are archived; If-Match refuses stale edits"}, shopW, s.upsertProduct)
	s.alsoCreated("/products/{id}")
	op(s, get, "/products/{id}/audit", "product-audit", "Every change to a product", shopR, s.productAudit)
	op(s, get, "/skus/{code}", "get-sku", "A SKU with its product and the after-sales terms that apply", shopR, s.getSKU)

	op(s, get, "/orders", "list-orders", "List orders, the latest stored first, with filters and cursor paging", shopR, s.listOrders)
	op(s, post, "/orders", "create-order", "Add an order; a number the shop has is a conflict", shopW, s.createOrder, 201)
	op(s, get, "/orders/{id}", "get-order", "Get an order by id or number, with each item's terms and windows and the notices sent", shopR, s.getOrder)
	register(s, huma.Operation{OperationID: "upsert-order", Method: put, Path: "/orders/{id}",
		Summary: "Create the order with this number or bring it up to date (201 when created); If-Match refuses stale edits"}, shopW, s.upsertOrder)
	s.alsoCreated("/orders/{id}")
	op(s, put, "/orders/{id}/shipments/{tracking}", "upsert-shipment", "Add or update one shipment of an order; its tracking events are added to those Kefu has", shopW, s.upsertShipment)
	op(s, get, "/orders/{id}/eligibility", "order-eligibility", "Whether a return, exchange, repair, refund or complaint is inside each item's window, with the reason in words", shopR, s.orderEligibility)
	op(s, get, "/orders/{id}/audit", "order-audit", "Every change to an order", shopR, s.orderAudit)
	op(s, get, "/tickets/{id}/order", "ticket-order", "The order a ticket names, with items, shipments and tracking", shopR, s.ticketOrder)
}

// alsoCreated documents 201 beside 200 for a PUT that creates what it
// does not find.
func (s *Server) alsoCreated(path string) {
	o := s.api.OpenAPI().Paths[path].Put
	created := *o.Responses["200"]
	created.Description = "Created"
	o.Responses["201"] = &created
}

type shopIn struct {
	Code string `path:"code" doc:"The shop's code"`
}

type shopOut struct {
	ETag string `header:"ETag"`
	Body *shop.Shop
}

type shopsOut struct {
	Body struct {
		Shops []*shop.Shop `json:"shops"`
	}
}

func (s *Server) listShops(ctx context.Context, _ *struct{}) (*shopsOut, error) {
	list, err := s.Shop.Shops(ctx)
	if err != nil {
		return nil, err
	}
	out := &shopsOut{}
	out.Body.Shops = list
	return out, nil
}

type shopSecretOut struct {
	Status int
	ETag   string `header:"ETag"`
	Body   struct {
		Shop          *shop.Shop `json:"shop"`
		WebhookSecret string     `json:"webhook_secret" doc:"Sign webhook deliveries with it; it is not shown again"`
	}
}

func shopSecretResult(sh *shop.Shop, secret string, err error, status int) (*shopSecretOut, error) {
	if err != nil {
		return nil, err
	}
	out := &shopSecretOut{Status: status, ETag: etag(sh.Version)}
	out.Body.Shop, out.Body.WebhookSecret = sh, secret
	return out, nil
}

func (s *Server) createShop(ctx context.Context, in *struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key creates nothing twice"`
	Body           shop.ShopInput
}) (*shopSecretOut, error) {
	sh, secret, err := s.Shop.CreateShop(ctx, in.Body)
	return shopSecretResult(sh, secret, err, http.StatusCreated)
}

func (s *Server) getShop(ctx context.Context, in *shopIn) (*shopOut, error) {
	sh, err := s.Shop.Shop(ctx, in.Code)
	if err != nil {
		return nil, err
	}
	return &shopOut{ETag: etag(sh.Version), Body: sh}, nil
}

func (s *Server) updateShop(ctx context.Context, in *struct {
	Code    string `path:"code"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being changed; a stale one gets 412 with the current shop"`
	Body    shop.ShopPatch
}) (*shopOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	sh, err := s.Shop.UpdateShop(ctx, in.Code, v, in.Body)
	if err != nil {
		return nil, err
	}
	return &shopOut{ETag: etag(sh.Version), Body: sh}, nil
}

func (s *Server) rotateSecret(ctx context.Context, in *shopIn) (*shopSecretOut, error) {
	sh, secret, err := s.Shop.RotateSecret(ctx, in.Code)
	return shopSecretResult(sh, secret, err, http.StatusOK)
}

// webhookMaxBody bounds a delivery: a product with many SKUs or an order
// with its tracking history fits many times over.
const webhookMaxBody = 4 << 20

// webhookIn takes the body as bytes, unparsed: the signature is checked
// on exactly what was sent, before anything reads it as JSON.
type webhookIn struct {
	Code      string `path:"code" doc:"The shop's code"`
	Timestamp string `header:"Kefu-Timestamp" doc:"Unix time in seconds when the delivery was signed; more than 5 minutes off is refused"`
	Signature string `header:"Kefu-Signature" doc:"v1= and the hex HMAC-SHA256 of \"<timestamp>.<body>\" under the shop's webhook secret; several comma-separated during a rotation"`
	body      []byte
}

func (in *webhookIn) Resolve(hc huma.Context) []error {
	b, err := io.ReadAll(io.LimitReader(hc.BodyReader(), webhookMaxBody+1))
	switch {
	case err != nil:
		return []error{&huma.ErrorDetail{Location: "body", Message: "could not be read: " + err.Error()}}
	case len(b) > webhookMaxBody:
		return []error{&huma.ErrorDetail{Location: "body", Message: "is larger than 4 MiB"}}
	}
	in.body = b
	return nil
}

type webhookOut struct{ Body *shop.WebhookResult }

// webhookRoute registers the store's webhook. Its body is documented as
// a WebhookEvent after registration: declared before, huma would read and
// validate it ahead of the signature check.
func (s *Server) webhookRoute() {
	const path = "/shops/{code}/webhook"
	register(s, huma.Operation{OperationID: "shop-webhook", Method: http.MethodPost, Path: path,
		Summary: "The shop's store reports a change (an order, a shipment, a product), signed with the shop's webhook secret; see docs/shop.md",
		Errors:  []int{http.StatusUnauthorized}}, "", s.receiveWebhook)
	schema := s.api.OpenAPI().Components.Schemas.Schema(reflect.TypeOf(shop.WebhookEvent{}), true, "ShopWebhookEvent")
	s.api.OpenAPI().Paths[path].Post.RequestBody = &huma.RequestBody{Required: true,
		Content: map[string]*huma.MediaType{"application/json": {Schema: schema}}}
}

func (s *Server) receiveWebhook(ctx context.Context, in *webhookIn) (*webhookOut, error) {
	res, err := s.Shop.Receive(ctx, in.Code, in.Timestamp, in.Signature, in.body)
	if err != nil {
		return nil, err
	}
	return &webhookOut{Body: res}, nil
}

type listProductsIn struct {
	Shop        string `query:"shop" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
	Supplier    string `query:"supplier"`
	Category    string `query:"category"`
	StockStatus string `query:"stock_status" doc:"Products with a SKU in this stock status"`
	Q           string `query:"q" doc:"A prefix of the product code, or a part of its name"`
	Cursor      string `query:"cursor" doc:"next_cursor of the previous page"`
	Limit       int    `query:"limit" minimum:"1" maximum:"100" default:"25"`
}

func (s *Server) listProducts(ctx context.Context, in *listProductsIn) (*struct{ Body *shop.ProductPage }, error) {
	page, err := s.Shop.Products(ctx, shop.ProductFilter{Shop: in.Shop, Supplier: in.Supplier, Category: in.Category,
		StockStatus: shop.StockStatus(in.StockStatus), Query: in.Q, Cursor: in.Cursor, Limit: in.Limit})
	if err != nil {
		return nil, inQuery(err)
	}
	return &struct{ Body *shop.ProductPage }{page}, nil
}

type productOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *shop.Product
}

func productResult(p *shop.Product, created bool, err error) (*productOut, error) {
	if err != nil {
		return nil, err
	}
	out := &productOut{Status: http.StatusOK, ETag: etag(p.Version), Body: p}
	if created {
		out.Status, out.Location = http.StatusCreated, "/api/v1/products/"+p.ID
	}
	return out, nil
}

func (s *Server) createProduct(ctx context.Context, in *struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key creates nothing twice"`
	Body           shop.ProductInput
}) (*productOut, error) {
	p, err := s.Shop.CreateProduct(ctx, in.Body)
	return productResult(p, true, err)
}

type keyIn struct {
	ID   string `path:"id" doc:"Kefu's id, or the shop's own code or number"`
	Shop string `query:"shop" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
}

func (s *Server) getProduct(ctx context.Context, in *keyIn) (*productOut, error) {
	p, err := s.Shop.Product(ctx, in.Shop, in.ID)
	return productResult(p, false, err)
}

func (s *Server) upsertProduct(ctx context.Context, in *struct {
	ID      string `path:"id" doc:"The shop's product code"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being replaced; a stale one gets 412 with the current product"`
	Body    shop.ProductInput
}) (*productOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	if err := samePathKey("code", in.ID, &in.Body.Code, strings.TrimSpace); err != nil {
		return nil, err
	}
	p, created, err := s.Shop.UpsertProduct(ctx, in.Body, v)
	return productResult(p, created, err)
}

// samePathKey fills the body's key from the path, or refuses a body
// naming another.
func samePathKey(field, path string, body *string, norm func(string) string) error {
	switch {
	case strings.TrimSpace(*body) == "":
		*body = path
	case norm(*body) != norm(path):
		return kefu.Fieldf(field, "is %s but the path names %s", *body, path)
	}
	return nil
}

// keyAuditIn is keyIn with the paging of an audit trail.
type keyAuditIn struct {
	ID     string `path:"id" doc:"Kefu's id, or the shop's own code or number"`
	Shop   string `query:"shop" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
	Cursor string `query:"cursor" doc:"Id of the last entry seen"`
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

func (s *Server) productAudit(ctx context.Context, in *keyAuditIn) (*auditOut, error) {
	p, err := s.Shop.Product(ctx, in.Shop, in.ID)
	if err != nil {
		return nil, err
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{Entity: "product", EntityID: p.ID, Before: in.Cursor, Limit: in.Limit})
	return auditPage(entries, in.Limit, err)
}

func (s *Server) getSKU(ctx context.Context, in *struct {
	Code string `path:"code" doc:"The shop's SKU code"`
	Shop string `query:"shop" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
}) (*struct{ Body *shop.SKUDetail }, error) {
	k, err := s.Shop.SKU(ctx, in.Shop, in.Code)
	if err != nil {
		return nil, err
	}
	return &struct{ Body *shop.SKUDetail }{k}, nil
}

type listOrdersIn struct {
	Shop          string    `query:"shop" doc:"The shop's code; every shop's orders when left out"`
	Customer      string    `query:"customer" doc:"Customer id"`
	Status        []string  `query:"status" doc:"Comma-separated statuses"`
	SKU           string    `query:"sku" doc:"Orders with an item of this SKU"`
	Number        string    `query:"number" doc:"A prefix of the order number"`
	OrderedAfter  time.Time `query:"ordered_after" doc:"RFC 3339"`
	OrderedBefore time.Time `query:"ordered_before" doc:"RFC 3339"`
	UpdatedAfter  time.Time `query:"updated_after" doc:"RFC 3339: what changed since a sync"`
	Overdue       bool      `query:"overdue" doc:"Only undelivered orders past their expected delivery date"`
	Cursor        string    `query:"cursor" doc:"next_cursor of the previous page"`
	Limit         int       `query:"limit" minimum:"1" maximum:"100" default:"25"`
}

func (s *Server) listOrders(ctx context.Context, in *listOrdersIn) (*struct{ Body *shop.OrderPage }, error) {
	f := shop.OrderFilter{Shop: in.Shop, CustomerID: in.Customer, SKU: in.SKU, Number: in.Number, OrderedAfter: in.OrderedAfter,
		OrderedBefore: in.OrderedBefore, UpdatedAfter: in.UpdatedAfter, Overdue: in.Overdue, Cursor: in.Cursor, Limit: in.Limit}
	for _, st := range splitList(in.Status) {
		f.Status = append(f.Status, shop.OrderStatus(st))
	}
	page, err := s.Shop.Orders(ctx, f)
	if err != nil {
		return nil, inQuery(err)
	}
	return &struct{ Body *shop.OrderPage }{page}, nil
}

type orderOut struct {
	Status   int
	ETag     string `header:"ETag"`
	Location string `header:"Location"`
	Body     *shop.Order
}

func orderResult(o *shop.Order, result string, err error) (*orderOut, error) {
	if err != nil {
		return nil, err
	}
	out := &orderOut{Status: http.StatusOK, ETag: etag(o.Version), Body: o}
	if result == shop.Created {
		out.Status, out.Location = http.StatusCreated, "/api/v1/orders/"+o.ID
	}
	return out, nil
}

func (s *Server) createOrder(ctx context.Context, in *struct {
	IdempotencyKey string `header:"Idempotency-Key" doc:"A retried request with the same key creates nothing twice"`
	Body           shop.OrderInput
}) (*orderOut, error) {
	o, err := s.Shop.CreateOrder(ctx, in.Body)
	return orderResult(o, shop.Created, err)
}

func (s *Server) getOrder(ctx context.Context, in *keyIn) (*orderOut, error) {
	o, err := s.Shop.Order(ctx, in.Shop, in.ID)
	return orderResult(o, "", err)
}

func (s *Server) upsertOrder(ctx context.Context, in *struct {
	ID      string `path:"id" doc:"The shop's order number"`
	IfMatch string `header:"If-Match" doc:"The ETag of the version being changed; a stale one gets 412 with the current order"`
	Body    shop.OrderInput
}) (*orderOut, error) {
	v, err := ifMatch(in.IfMatch)
	if err != nil {
		return nil, err
	}
	number, _ := url.PathUnescape(in.ID)
	if err := samePathKey("number", number, &in.Body.Number, shop.NormalizeNumber); err != nil {
		return nil, err
	}
	return orderResult(s.Shop.UpsertOrder(ctx, in.Body, v))
}

func (s *Server) upsertShipment(ctx context.Context, in *struct {
	ID       string `path:"id" doc:"The order's number or id"`
	Tracking string `path:"tracking" doc:"The shipment's tracking number"`
	Shop     string `query:"shop" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
	Body     shop.ShipmentInput
}) (*orderOut, error) {
	if err := samePathKey("tracking_number", in.Tracking, &in.Body.TrackingNumber, strings.TrimSpace); err != nil {
		return nil, err
	}
	o, err := s.Shop.Order(ctx, in.Shop, in.ID)
	if err != nil {
		return nil, err
	}
	o, _, err = s.Shop.UpsertShipment(ctx, o.Shop, o.Number, in.Body)
	return orderResult(o, "", err)
}

func (s *Server) orderEligibility(ctx context.Context, in *struct {
	ID     string    `path:"id" doc:"The order's id or number"`
	Shop   string    `query:"shop" doc:"The shop's code; may be left out while Kefu mirrors one shop"`
	Kind   string    `query:"kind" required:"true" enum:"return,exchange,repair,refund_only,complaint"`
	Reason string    `query:"reason" doc:"quality, damaged, wrong_item, not_as_described, not_received, size_fit or changed_mind; left out when not known"`
	Item   string    `query:"item" doc:"One item, by its id or SKU; every item when left out"`
	At     time.Time `query:"at" doc:"RFC 3339; now when left out"`
}) (*struct {
	Body struct {
		Items []shop.ItemEligibility `json:"items"`
	}
}, error) {
	list, err := s.Shop.Eligibility(ctx, in.Shop, in.ID, shop.Kind(in.Kind), shop.Reason(in.Reason), in.Item, in.At)
	if err != nil {
		return nil, inQuery(err)
	}
	out := &struct {
		Body struct {
			Items []shop.ItemEligibility `json:"items"`
		}
	}{}
	out.Body.Items = list
	return out, nil
}

func (s *Server) orderAudit(ctx context.Context, in *keyAuditIn) (*auditOut, error) {
	o, err := s.Shop.Order(ctx, in.Shop, in.ID)
	if err != nil {
		return nil, err
	}
	entries, err := audit.List(ctx, s.DB.Read, audit.Filter{Entity: "order", EntityID: o.ID, Before: in.Cursor, Limit: in.Limit})
	return auditPage(entries, in.Limit, err)
}

func (s *Server) ticketOrder(ctx context.Context, in *idPath) (*orderOut, error) {
	t, err := s.Tickets.Get(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	o, err := s.Shop.ForTicket(ctx, t.OrderNumber, t.CustomerID)
	return orderResult(o, "", err)
}
