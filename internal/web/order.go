package web

import (
	"context"
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// orderView is what the order panel of a ticket shows: nothing when
// the ticket names no order, the order, or (Order nil) that no shop has
// it yet.
type orderView struct {
	Number string
	Order  *shop.Order
}

// orderOf is the order view of t; nil without a shop service (no panel).
func (s *Server) orderOf(ctx context.Context, t *ticket.Ticket) (*orderView, error) {
	if s.Shop == nil {
		return nil, nil
	}
	v := &orderView{Number: t.OrderNumber}
	if t.OrderNumber == "" {
		return v, nil
	}
	o, err := s.Shop.ForTicket(ctx, t.OrderNumber, t.CustomerID)
	if kefu.IsCode(err, kefu.NotFound) {
		return v, nil
	}
	v.Order = o
	return v, err
}

// orderFragment is the order panel alone, for its refresh: empty when
// the ticket names no order.
func (s *Server) orderFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	t, err := s.Tickets.Get(ctx, chi.URLParam(r, "key"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.orderOf(ctx, t)
	switch {
	case err != nil:
		s.fail(w, r, err)
	case v == nil || v.Number == "":
		w.WriteHeader(http.StatusOK)
	default:
		render(w, r, http.StatusOK, orderPanel(v.Number, v.Order))
	}
}

// paidLine says how much of the order is paid, and how.
func paidLine(ctx context.Context, o *shop.Order) string {
	if o.PaymentMethod == "" {
		return T(ctx, "order.paid", "Paid", o.Paid)
	}
	return T(ctx, "order.paid_by", "Paid", o.Paid, "Method", o.PaymentMethod)
}
