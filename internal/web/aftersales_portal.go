package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/portal"
)

// The portal's after-sales panel: the customer's cases of a request in
// plain words (what is happening, what to do next), with a form for
// photos and one for the return's tracking number while the parcel is
// theirs to send.

func (s *Server) portalCaseRoutes(r chi.Router) {
	r.Post("/portal/t/{key}/cases/{id}/photos", s.portalCasePhotos)
	r.Post("/portal/t/{key}/cases/{id}/tracking", s.portalCaseTracking)
	r.Get("/portal/cases/photos/{id}", s.portalCasePhoto)
}

// asCustomer acts as the session's customer, as the portal's own calls
// do: services then show and change only what is theirs.
func asCustomer(ctx context.Context, sess *portal.Session) context.Context {
	return kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorCustomer, ID: sess.CustomerID, Name: sess.Name})
}

// portalCases are the cases of the request a session sees.
func (s *Server) portalCases(ctx context.Context, sess *portal.Session, ticketID string) ([]*aftersales.Case, error) {
	if s.Aftersales == nil {
		return nil, nil
	}
	return s.Aftersales.ForTicket(asCustomer(ctx, sess), ticketID)
}

// portalCaseOf returns a case of request key the session may act on.
func (s *Server) portalCaseOf(ctx context.Context, key, id string) (*aftersales.Case, error) {
	sess := customerSession(ctx)
	v, err := s.Portal.Ticket(ctx, sess, key)
	if err != nil {
		return nil, err
	}
	c, err := s.Aftersales.Get(asCustomer(ctx, sess), id)
	if err != nil || c.TicketID != v.Ticket.ID {
		return nil, kefu.Errorf(kefu.NotFound, "no case %s", id)
	}
	return c, nil
}

func (s *Server) portalCasePhotos(w http.ResponseWriter, r *http.Request) {
	ups, done, err := formPhotos(w, r)
	defer done()
	s.portalCaseAct(w, r, err, aftersales.ActionInput{Action: aftersales.AddPhotos, Uploads: ups})
}

func (s *Server) portalCaseTracking(w http.ResponseWriter, r *http.Request) {
	f := mustForm(r)
	s.portalCaseAct(w, r, nil, aftersales.ActionInput{Action: aftersales.ShipReturn, Carrier: f.Get("carrier"), TrackingNumber: f.Get("tracking_number")})
}

// portalCaseAct takes a customer's action on a case and shows the
// request again: with a notice when it worked, with the form's errors
// when it did not.
func (s *Server) portalCaseAct(w http.ResponseWriter, r *http.Request, err error, in aftersales.ActionInput) {
	ctx := r.Context()
	key, id := chi.URLParam(r, "key"), chi.URLParam(r, "id")
	c, cerr := s.portalCaseOf(ctx, key, id)
	if cerr != nil {
		s.customerFail(w, r, cerr)
		return
	}
	if err == nil {
		_, err = s.Aftersales.Act(asCustomer(ctx, customerSession(ctx)), c.ID, 0, in)
	}
	if err == nil {
		http.Redirect(w, r, "/portal/t/"+url.PathEscape(c.TicketKey)+"?case="+url.QueryEscape(c.Key)+"#case-"+c.Key, http.StatusSeeOther)
		return
	}
	if kefu.IsCode(err, kefu.NotFound) {
		s.customerFail(w, r, err)
		return
	}
	d, lerr := s.loadPortalTicket(ctx, key)
	if lerr != nil {
		s.customerFail(w, r, lerr)
		return
	}
	d.Refused = refusedCase{Case: c.ID, Form: r.Form}
	d.Refused.Errors, d.Refused.Error = customerErrors(ctx, w, err, nil)
	render(w, r, status(err), portalTicketPage(d))
}

func (s *Server) portalCasePhoto(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	p, f, err := s.Aftersales.OpenPhoto(asCustomer(ctx, customerSession(ctx)), chi.URLParam(r, "id"))
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	defer f.Close()
	servePhoto(w, r, p, f)
}

// Helpers for the portal's templates.

func canShipReturn(c *aftersales.Case) bool { return slices.Contains(c.Next, aftersales.ShipReturn) }
func canAddPhotos(c *aftersales.Case) bool  { return slices.Contains(c.Next, aftersales.AddPhotos) }

// exchangeItem is an exchange's replacement as the customer reads it:
// its name with the SKU, or the SKU alone.
func exchangeItem(x *aftersales.Shipment) string {
	if x.Name == "" {
		return x.SKU
	}
	return x.Name + " (" + x.SKU + ")"
}

// customerRemedies are the remedies a customer is told of.
func customerRemedies(c *aftersales.Case) []aftersales.Remedy {
	return slices.DeleteFunc(slices.Clone(c.Remedies), func(r aftersales.Remedy) bool { return r.State == aftersales.Cancelled })
}

// customerPhotos are the photos the customer sent or was shown.
func customerPhotos(c *aftersales.Case) []aftersales.Photo {
	return slices.DeleteFunc(slices.Clone(c.Photos), func(p aftersales.Photo) bool { return p.Purpose != aftersales.PhotoEvidence })
}
