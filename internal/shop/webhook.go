package shop

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kefu-desk/kefu"
)

// The webhook contract (docs/shop.md): the store sends a JSON event with
// TimestampHeader, the Unix time in seconds when it signed it, and
// SignatureHeader, "v1=" and the hex HMAC-SHA256 of "<timestamp>.<body>"
// under the shop's webhook secret.
const (
	TimestampHeader = "Kefu-Timestamp"
	SignatureHeader = "Kefu-Signature"
)

// WebhookTolerance is how far a delivery's timestamp may be from Kefu's
// clock. Within it an exact repeat is refused as a replay; outside it
// every delivery is refused, so a captured request is useless later.
const WebhookTolerance = 5 * time.Minute

// Sign returns the signature header for body sent at timestamp: what a
// store computes, and what Kefu checks.
func Sign(secret string, timestamp int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(timestamp, 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Event types a store sends.
const (
	EventOrder    = "order.upsert"
	EventProduct  = "product.upsert"
	EventShipment = "shipment.upsert"
)

// WebhookEvent is the body of a webhook delivery: one change, with the
// part its type names.
type WebhookEvent struct {
	ID       string           `json:"id,omitempty" maxLength:"200" doc:"The store's id of the event, echoed back for its logs"`
	Type     string           `json:"type" enum:"order.upsert,product.upsert,shipment.upsert"`
	Order    *OrderInput      `json:"order,omitempty" doc:"For order.upsert: the order as the store has it"`
	Product  *ProductInput    `json:"product,omitempty" doc:"For product.upsert: the product with all its SKUs"`
	Shipment *ShipmentOfOrder `json:"shipment,omitempty" doc:"For shipment.upsert: one shipment of an order, with new tracking events"`
}

// ShipmentOfOrder is a shipment with the order it belongs to.
type ShipmentOfOrder struct {
	OrderNumber string `json:"order_number"`
	ShipmentInput
}

// WebhookResult says what a delivery did.
type WebhookResult struct {
	EventID string `json:"event_id,omitempty"`
	Type    string `json:"type"`
	Result  string `json:"result" enum:"created,updated,unchanged"`
	ID      string `json:"id" doc:"Kefu's id of the order or product"`
	Key     string `json:"key" doc:"The order number or product code"`
	Version int    `json:"version"`
}

// Receive verifies and applies one webhook delivery for the shop with
// code. A delivery whose signature or timestamp does not verify is
// Unauthorized, whatever the reason (an unknown shop included), so a
// prober learns nothing; one seen before is a Conflict; a bad body is
// Invalid with the fields named. Nothing is stored unless all is well.
func (s *Service) Receive(ctx context.Context, code, timestamp, signature string, body []byte) (*WebhookResult, error) {
	now := s.Now()
	sh, secrets, err := s.secrets(ctx, code, now)
	if err != nil {
		return nil, err
	}
	if err := verify(secrets, timestamp, signature, body, now); err != nil {
		return nil, err
	}
	var ev WebhookEvent
	if err := decodeStrict(body, &ev); err != nil {
		return nil, err
	}
	// The store acts as itself: the audit trail names the shop's webhook.
	ctx = kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorSystem, ID: "webhook:" + sh.Code, Name: "webhook of " + sh.Name, Role: kefu.RoleAdmin})
	res := &WebhookResult{EventID: ev.ID, Type: ev.Type}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO shop_webhook_deliveries (shop_id, signature, received_at) VALUES ($1, $2, $3)
			ON CONFLICT (shop_id, signature) DO NOTHING`, sh.ID, signature, now)
		if err != nil {
			return fmt.Errorf("shop: webhook delivery: %w", err)
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return kefu.Errorf(kefu.Conflict, "this delivery was received before: sign each delivery, retries included, with a fresh timestamp")
		}
		return s.apply(ctx, tx, sh, ev, res)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// apply writes the event's change in tx.
func (s *Service) apply(ctx context.Context, tx *sql.Tx, sh *Shop, ev WebhookEvent, res *WebhookResult) error {
	ownShop := func(field, given string) error {
		if given != "" && given != sh.Code {
			return kefu.Fieldf(field, "must be %s or left out: a shop's webhook changes that shop only", sh.Code)
		}
		return nil
	}
	switch ev.Type {
	case EventOrder:
		if ev.Order == nil {
			return kefu.Fieldf("order", "is required for %s", ev.Type)
		}
		if err := ownShop("order.shop", ev.Order.Shop); err != nil {
			return err
		}
		out, err := s.putOrder(ctx, tx, sh, *ev.Order, func(*doc) {})
		if err != nil {
			return prefix(err, "order.")
		}
		res.Result, res.ID, res.Key, res.Version = out.Result, out.ID, out.Number, out.Version
	case EventShipment:
		if ev.Shipment == nil {
			return kefu.Fieldf("shipment", "is required for %s", ev.Type)
		}
		out, err := s.putShipment(ctx, tx, sh, ev.Shipment.OrderNumber, ev.Shipment.ShipmentInput)
		if kefu.IsCode(err, kefu.NotFound) {
			return kefu.Fieldf("shipment.order_number", "no order %s: send the order first", NormalizeNumber(ev.Shipment.OrderNumber))
		}
		if err != nil {
			return prefix(err, "shipment.")
		}
		res.Result, res.ID, res.Key, res.Version = out.Result, out.ID, out.Number, out.Version
	case EventProduct:
		if ev.Product == nil {
			return kefu.Fieldf("product", "is required for %s", ev.Type)
		}
		if err := ownShop("product.shop", ev.Product.Shop); err != nil {
			return err
		}
		id, before, err := s.putProduct(ctx, tx, sh, *ev.Product, 0, false)
		if err != nil {
			return prefix(err, "product.")
		}
		var version int
		if err := tx.QueryRowContext(ctx, `SELECT version FROM products WHERE id = $1`, id).Scan(&version); err != nil {
			return err
		}
		res.ID, res.Key, res.Version = id, strings.TrimSpace(ev.Product.Code), version
		switch {
		case before == 0:
			res.Result = Created
		case before == version:
			res.Result = Unchanged
		default:
			res.Result = Updated
		}
	default:
		return kefu.Fieldf("type", "must be %s, %s or %s", EventOrder, EventShipment, EventProduct)
	}
	return nil
}

// prefix places field errors under p, for a part of a larger body.
func prefix(err error, p string) error {
	return renameFields(err, func(f string) string { return p + f })
}

var errSignature = kefu.Errorf(kefu.Unauthorized, "the webhook signature does not verify")

// secrets returns the shop and the secrets a delivery may be signed with
// now: the current one, and the previous one during its grace period.
func (s *Service) secrets(ctx context.Context, code string, now time.Time) (*Shop, []string, error) {
	var current, previous string
	var until sql.NullTime
	err := s.DB.Read.QueryRowContext(ctx, `SELECT webhook_secret, previous_secret, previous_secret_until FROM shops WHERE code = $1`, code).
		Scan(&current, &previous, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errSignature
	}
	if err != nil {
		return nil, nil, fmt.Errorf("shop: webhook secret: %w", err)
	}
	sh, err := s.shop(ctx, s.DB.Read, code)
	if err != nil {
		return nil, nil, err
	}
	secrets := []string{current}
	if previous != "" && until.Valid && now.Before(until.Time) {
		secrets = append(secrets, previous)
	}
	return sh, secrets, nil
}

// verify checks the timestamp is fresh and that one of the signatures in
// the header (several may be sent, comma-separated, while a secret is
// rotated) is body's under one of secrets.
func verify(secrets []string, timestamp, signature string, body []byte, now time.Time) error {
	ts, err := strconv.ParseInt(strings.TrimSpace(timestamp), 10, 64)
	if err != nil {
		return &kefu.Error{Code: kefu.Unauthorized, Message: "the webhook timestamp is missing or not Unix seconds",
			Fields: []kefu.FieldError{{Field: "header." + TimestampHeader, Message: "must be the Unix time in seconds when the delivery was signed"}}}
	}
	if d := now.Sub(time.Unix(ts, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return &kefu.Error{Code: kefu.Unauthorized, Message: "the webhook timestamp is too far from the current time",
			Fields: []kefu.FieldError{{Field: "header." + TimestampHeader, Message: fmt.Sprintf("must be within %s of now (check the sender's clock)", WebhookTolerance)}}}
	}
	for _, given := range strings.Split(signature, ",") {
		given = strings.TrimSpace(given)
		for _, secret := range secrets {
			if hmac.Equal([]byte(given), []byte(Sign(secret, ts, body))) {
				return nil
			}
		}
	}
	return errSignature
}

// decodeStrict decodes a JSON body, naming the field of a type error.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return kefu.Fieldf(te.Field, "must be a %s", te.Type)
		}
		return kefu.Fieldf("body", "is not a JSON event: %v", err)
	}
	if dec.More() {
		return kefu.Fieldf("body", "holds more than one JSON value")
	}
	return nil
}

// PruneDeliveries forgets deliveries too old to be replayed: their
// timestamps are refused anyway.
func (s *Service) PruneDeliveries(ctx context.Context) (int64, error) {
	r, err := s.DB.Write.ExecContext(ctx, `DELETE FROM shop_webhook_deliveries WHERE received_at < $1`, s.Now().Add(-2*WebhookTolerance))
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
