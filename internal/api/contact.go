package api

import (
	"bytes"
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/kefu-desk/kefu/internal/portal"
)

// contactRoutes are the contact form for a shop's own servers and apps:
// the same rules as the form on Kefu's pages (rate limit per address,
// limits on photos, acknowledgement by mail or text), without a browser.
// Browsers cannot post here from another site: there is no CORS, and
// http.CrossOriginProtection refuses cross-site posts.
func (s *Server) contactRoutes() {
	const get, post, public = http.MethodGet, http.MethodPost, ""
	op(s, get, "/contact/categories", "contact-categories", "The categories a customer may choose from, in English and Chinese", public, s.contactCategories)
	register(s, huma.Operation{OperationID: "submit-contact", Method: post, Path: "/contact", DefaultStatus: http.StatusCreated,
		Summary: "Open a request as the contact form does, for the customer found or created by email or phone; it is acknowledged by mail or text message",
		// Photos travel base64-encoded inside the JSON; larger ones go
		// through the hosted form, which streams them.
		MaxBodyBytes: contactMaxBody, Errors: []int{http.StatusForbidden, http.StatusTooManyRequests}},
		"", s.submitContact)
}

// contactMaxBody bounds a public, unauthenticated request body.
const contactMaxBody = 16 << 20

type contactCategory struct {
	Key    string `json:"key"`
	NameEn string `json:"name_en"`
	NameZh string `json:"name_zh"`
}

type contactCategoriesOut struct {
	Body struct {
		Categories []contactCategory `json:"categories"`
	}
}

func (s *Server) contactCategories(ctx context.Context, _ *struct{}) (*contactCategoriesOut, error) {
	cats, err := s.Tickets.Categories(ctx)
	if err != nil {
		return nil, err
	}
	out := &contactCategoriesOut{}
	out.Body.Categories = []contactCategory{}
	for _, c := range cats {
		if !c.Archived {
			out.Body.Categories = append(out.Body.Categories, contactCategory{Key: c.Key, NameEn: c.NameEn, NameZh: c.NameZh})
		}
	}
	return out, nil
}

type contactPhoto struct {
	Filename string `json:"filename" maxLength:"255"`
	Data     []byte `json:"data" doc:"The photo, base64-encoded: JPEG, PNG, GIF, WebP or HEIC"`
}

type contactIn struct {
	RemoteAddr string `header:"X-Kefu-Remote-Addr" hidden:"true"`
	Body       struct {
		Name        string         `json:"name" maxLength:"200"`
		Email       string         `json:"email,omitempty" maxLength:"320" doc:"An email address or a phone number is required"`
		Phone       string         `json:"phone,omitempty" maxLength:"40"`
		Category    string         `json:"category" doc:"A key from GET /contact/categories"`
		OrderNumber string         `json:"order_number,omitempty" maxLength:"100"`
		Description string         `json:"description"`
		Language    string         `json:"language,omitempty" enum:"en,zh-CN" doc:"The acknowledgement's language; default en"`
		Photos      []contactPhoto `json:"photos,omitempty"`
	}
}

type contactOut struct {
	Status int
	Body   struct {
		TicketID string `json:"ticket_id"`
		Key      string `json:"key" doc:"The request number the customer is given, such as KF-10234"`
	}
}

func (s *Server) submitContact(ctx context.Context, in *contactIn) (*contactOut, error) {
	b := in.Body
	photos := make([]portal.Photo, len(b.Photos))
	for i, p := range b.Photos {
		photos[i] = portal.Photo{Filename: p.Filename, Size: int64(len(p.Data)), Content: bytes.NewReader(p.Data)}
	}
	rec, err := s.Portal.Submit(ctx, portal.Contact{Name: b.Name, Email: b.Email, Phone: b.Phone, Category: b.Category,
		OrderNumber: b.OrderNumber, Description: b.Description, Photos: photos, Lang: b.Language, IP: in.RemoteAddr})
	if err != nil {
		return nil, err
	}
	out := &contactOut{Status: http.StatusCreated}
	out.Body.TicketID, out.Body.Key = rec.Ticket.ID, rec.Ticket.Key
	return out, nil
}
