package web

// The customer's side: the contact form (hosted at /contact, framed by
// shops' sites at /contact/embed through /contact/embed.js) and the
// portal under /portal. Its pages have their own layout and stylesheet,
// their own session cookie (never the staff one) and speak to customers,
// so every message on them, errors included, is in the page's language.
//
// CSRF: the staff console relies on http.CrossOriginProtection, which
// refuses a state-changing request a browser marks cross-site. The
// contact form needs no exception to it: a shop embeds it as an iframe
// of Kefu's own page, so the form inside is posted from Kefu's origin
// (Sec-Fetch-Site: same-origin) however foreign the page around it. A
// form posted straight from the shop's own origin is refused, on purpose:
// shops whose servers want to open requests use POST /api/v1/contact,
// which browsers cannot reach cross-site either. The portal's cookie is
// SameSite=Lax and scoped to /portal.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// portalCookie carries the portal session's token.
const portalCookie = "kefu_portal"

func (s *Server) portalRoutes(r chi.Router) {
	r.Group(func(r chi.Router) {
		r.Use(pageLanguage)
		r.Get("/contact", s.contactPage)
		r.Post("/contact", s.contactSubmit)
		r.Get("/contact/thanks", s.contactThanks)
		r.Get("/contact/embed", s.contactPage)
		r.Post("/contact/embed", s.contactSubmit)
		r.Get("/contact/embed/thanks", s.contactThanks)
		r.Get("/contact/embed.js", serveFixed("contact-embed.js", time.Hour))

		r.Get("/portal", s.portalHome)
		r.Get("/portal/signin", s.portalSignin)
		r.Post("/portal/signin/code", s.portalRequestCode)
		r.Get("/portal/signin/verify", s.portalVerifyPage)
		r.Post("/portal/signin/verify", s.portalVerify)
		r.Post("/portal/signin/order", s.portalOrder)
		r.Get("/portal/link", s.portalLinkPage)
		r.Post("/portal/link", s.portalLink)
		r.Post("/portal/signout", s.portalSignout)
		r.Group(func(r chi.Router) {
			r.Use(s.requireCustomer)
			r.Get("/portal/t/{key}", s.portalTicket)
			r.Post("/portal/t/{key}/reply", s.portalReply)
			r.Get("/portal/attachments/{id}", s.portalAttachment)
			if s.Aftersales != nil {
				s.portalCaseRoutes(r)
			}
		})
	})
}

// pageLanguage lets a link choose the language (?lang=zh-CN): the framed
// form has no cookie of its own on most browsers, and the shop's page
// knows its language. A form carries it on as a hidden field.
func pageLanguage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := r.URL.Query().Get("lang")
		if l == "" && r.Method == http.MethodPost && !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
			l = r.PostFormValue("lang")
		}
		if l == "en" || l == "zh-CN" {
			r = r.WithContext(withLocalizer(r.Context(), l))
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the address the request came from (api.RemoteAddr puts it
// in a header no client can set).
func clientIP(r *http.Request) string { return r.Header.Get("X-Kefu-Remote-Addr") }

// renderCustomer renders a customer page. framed pages (the embedded
// form) may be shown inside the pages of EmbedOrigins; all others in none.
func (s *Server) renderCustomer(w http.ResponseWriter, r *http.Request, code int, c templ.Component, framed bool) {
	if framed {
		renderFramed(w, r, code, c, s.EmbedOrigins)
		return
	}
	render(w, r, code, c)
}

// contactForm is the contact form's state.
type contactForm struct {
	Embed      bool
	Values     url.Values
	Errors     map[string]string
	Error      string
	Categories []ticket.Category
	Limits     portal.Limits
}

func (f *contactForm) action() string {
	if f.Embed {
		return "/contact/embed"
	}
	return "/contact"
}

// prefilled are the fields a shop's page may fill in through the
// snippet's data attributes or the link (a signed-in shopper's name, the
// order on the page).
var prefilled = []string{"name", "email", "phone", "category", "order_number"}

func (s *Server) newContactForm(ctx context.Context, r *http.Request) (*contactForm, error) {
	cats, err := s.Tickets.Categories(ctx)
	if err != nil {
		return nil, err
	}
	f := &contactForm{Embed: strings.HasPrefix(r.URL.Path, "/contact/embed"), Values: url.Values{}, Limits: s.Portal.LimitsInUse()}
	for _, c := range cats {
		if !c.Archived {
			f.Categories = append(f.Categories, c)
		}
	}
	return f, nil
}

func (s *Server) contactPage(w http.ResponseWriter, r *http.Request) {
	f, err := s.newContactForm(r.Context(), r)
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	for _, k := range prefilled {
		if v := r.URL.Query().Get(k); v != "" && len(v) <= 200 {
			f.Values.Set(k, v)
		}
	}
	s.renderCustomer(w, r, http.StatusOK, contactPage(f), f.Embed)
}

// contactSubmit opens the request. The multipart body is spooled by the
// standard library (memory up to 1 MB, then temporary files) and each
// photo streams from there into the blob store.
func (s *Server) contactSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	f, err := s.newContactForm(ctx, r)
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	photos, names, done, err := readPhotos(w, r, f.Limits)
	defer done()
	for _, k := range append(prefilled, "description") {
		f.Values.Set(k, r.FormValue(k))
	}
	if err == nil {
		var rec *portal.Receipt
		rec, err = s.Portal.Submit(ctx, portal.Contact{Name: r.FormValue("name"), Email: r.FormValue("email"), Phone: r.FormValue("phone"),
			Category: r.FormValue("category"), OrderNumber: r.FormValue("order_number"), Description: r.FormValue("description"),
			Photos: photos, Lang: lang(ctx), IP: clientIP(r), Trap: r.FormValue("website")})
		if err == nil {
			q := url.Values{"lang": {lang(ctx)}}
			if rec.Ticket != nil {
				q.Set("t", rec.Ticket.Key)
			}
			http.Redirect(w, r, f.action()+"/thanks?"+q.Encode(), http.StatusSeeOther)
			return
		}
	}
	f.Errors, f.Error = customerErrors(ctx, w, err, names)
	s.renderCustomer(w, r, status(err), contactPage(f), f.Embed)
}

// readPhotos parses a multipart form of at most limits' photos and
// returns them, their names (for error messages) and a cleanup.
func readPhotos(w http.ResponseWriter, r *http.Request, l portal.Limits) ([]portal.Photo, []string, func(), error) {
	var closers []io.Closer
	done := func() {
		for _, c := range closers {
			c.Close()
		}
		if r.MultipartForm != nil {
			r.MultipartForm.RemoveAll()
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, int64(l.Photos)*l.PhotoBytes+2<<20)
	parse := func() error { return r.ParseMultipartForm(1 << 20) }
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		parse = r.ParseForm
	}
	if err := parse(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, nil, done, kefu.Errorf(kefu.TooLarge, "the photos are larger than %d MB together", tooBig.Limit>>20)
		}
		return nil, nil, done, kefu.Fieldf("body", "is not a form: %v", err)
	}
	var files []*multipart.FileHeader
	if r.MultipartForm != nil {
		files = r.MultipartForm.File["photos"]
	}
	var photos []portal.Photo
	var names []string
	for _, fh := range files {
		if fh.Filename == "" && fh.Size == 0 {
			continue // the empty file input of a form without photos
		}
		f, err := fh.Open()
		if err != nil {
			return nil, nil, done, err
		}
		closers = append(closers, f)
		photos = append(photos, portal.Photo{Filename: fh.Filename, Size: fh.Size, Content: f})
		names = append(names, fh.Filename)
	}
	return photos, names, done, nil
}

// contactDone is the thank-you page.
type contactDone struct {
	Embed bool
	Key   string // "" when the form was dropped as spam: thank them all the same
}

func (s *Server) contactThanks(w http.ResponseWriter, r *http.Request) {
	d := contactDone{Embed: strings.HasPrefix(r.URL.Path, "/contact/embed")}
	if n, ok := ticket.ParseKey(r.URL.Query().Get("t")); ok {
		d.Key = ticket.Key(n)
	}
	s.renderCustomer(w, r, http.StatusOK, contactThanks(d), d.Embed)
}

// customerErrors turns err into a message per form field and one for the
// whole form, in the page's language. The domain's messages are written
// for developers and agents; customers get sentences chosen by field,
// with the details that matter to them (tries left, which photo).
func customerErrors(ctx context.Context, w http.ResponseWriter, err error, photoNames []string) (map[string]string, string) {
	var e *kefu.Error
	if !errors.As(err, &e) {
		return nil, T(ctx, "portal.err_internal")
	}
	switch e.Code {
	case kefu.Invalid:
	case kefu.RateLimited:
		if at, ok := auth.RetryAt(err); ok {
			w.Header().Set("Retry-After", strconv.Itoa(max(1, int(time.Until(at).Seconds()+0.5))))
		}
		return nil, T(ctx, "portal.err_limited")
	case kefu.TooLarge:
		return map[string]string{"photos": T(ctx, "portal.err_too_large")}, ""
	case kefu.Forbidden:
		return nil, T(ctx, "portal.err_blocked")
	case kefu.Unavailable:
		return nil, T(ctx, "portal.err_no_mail")
	case kefu.NotFound:
		return nil, T(ctx, "portal.err_not_found")
	default:
		return nil, T(ctx, "portal.err_internal")
	}
	out := map[string]string{}
	for _, f := range e.Fields {
		field, index, _ := strings.Cut(f.Field, "[")
		msg := fieldMessage(ctx, field, f.Message)
		if field == "photos" && index != "" {
			if i, err := strconv.Atoi(strings.TrimSuffix(index, "]")); err == nil && i < len(photoNames) {
				msg = photoNames[i] + ": " + msg
			}
		}
		if prev, ok := out[field]; ok {
			msg = prev + " " + msg
		}
		out[field] = msg
	}
	if len(out) == 0 {
		return nil, T(ctx, "portal.err_internal")
	}
	return out, ""
}

var triesLeft = regexp.MustCompile(`(\d+) tries left`)

// fieldMessage is the customer's sentence for a problem with field.
func fieldMessage(ctx context.Context, field, msg string) string {
	switch field {
	case "name":
		return T(ctx, "portal.err_name")
	case "email":
		if strings.Contains(msg, "phone number") {
			return T(ctx, "portal.err_reach")
		}
		return T(ctx, "portal.err_email")
	case "phone":
		return T(ctx, "portal.err_phone")
	case "category":
		return T(ctx, "portal.err_category")
	case "order_number":
		return T(ctx, "portal.err_order_number")
	case "description":
		return T(ctx, "portal.err_description")
	case "text":
		return T(ctx, "portal.err_text")
	case "address":
		return T(ctx, "portal.err_address")
	case "token":
		return T(ctx, "portal.err_token")
	case "order":
		if strings.Contains(msg, "no request matches") {
			return T(ctx, "portal.err_order_nomatch")
		}
		return T(ctx, "portal.err_order")
	case "photos":
		if strings.Contains(msg, "larger than") {
			return T(ctx, "portal.err_photo_large")
		}
		if strings.Contains(msg, "at most") {
			return T(ctx, "portal.err_photo_count")
		}
		return T(ctx, "portal.err_photo_type")
	case "code":
		switch m := triesLeft.FindStringSubmatch(msg); {
		case m != nil:
			return T(ctx, "portal.err_code_wrong", "Left", m[1])
		case strings.Contains(msg, "last try"), strings.Contains(msg, "too many wrong tries"):
			return T(ctx, "portal.err_code_dead")
		case strings.Contains(msg, "already used"):
			return T(ctx, "portal.err_code_used")
		case strings.Contains(msg, "expired"):
			return T(ctx, "portal.err_code_expired")
		}
		return T(ctx, "portal.err_code")
	}
	return T(ctx, "portal.err_internal")
}

// customerFail shows err on a customer page of its own.
func (s *Server) customerFail(w http.ResponseWriter, r *http.Request, err error) {
	_, msg := customerErrors(r.Context(), w, err, nil)
	if msg == "" {
		msg = T(r.Context(), "portal.err_internal")
	}
	if kefu.ErrorCode(err) == kefu.Internal {
		message(r, err) // logs it
	}
	render(w, r, status(err), portalErrorPage(msg))
}

type sessionKey struct{}

// customerSession is the portal session of a request that passed
// requireCustomer.
func customerSession(ctx context.Context) *portal.Session {
	sess, _ := ctx.Value(sessionKey{}).(*portal.Session)
	return sess
}

// currentSession reads the portal cookie; nil when signed out.
func (s *Server) currentSession(r *http.Request) (*portal.Session, error) {
	c, err := r.Cookie(portalCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sess, err := s.Portal.Session(r.Context(), c.Value)
	if kefu.IsCode(err, kefu.Unauthorized) {
		return nil, nil
	}
	return sess, err
}

// requireCustomer puts the portal session in the context, or sends the
// browser to the portal's sign-in page.
func (s *Server) requireCustomer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.currentSession(r)
		if err != nil {
			s.customerFail(w, r, err)
			return
		}
		if sess == nil {
			s.clearPortalCookie(w)
			target := "/portal/signin"
			if r.Method == http.MethodGet {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	})
}

func (s *Server) setPortalCookie(w http.ResponseWriter, sess *portal.Session) {
	// A browser-session cookie: the server ends the session on its own
	// schedule (idle and absolute limits) whatever the browser keeps.
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: sess.Token, Path: "/portal", HttpOnly: true,
		Secure: s.Sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearPortalCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: portalCookie, Value: "", Path: "/portal", MaxAge: -1, HttpOnly: true,
		Secure: s.Sessions.Cookie.Secure, SameSite: http.SameSiteLaxMode})
}

// portalNext keeps the page to return to after sign-in inside the portal.
func portalNext(next string) string {
	if !strings.HasPrefix(next, "/portal/") || strings.HasPrefix(next, "/portal/signin") || strings.ContainsAny(next, "\\\r\n") {
		return "/portal"
	}
	return next
}

// signinData is the sign-in page's state: two forms, each with its own
// values and errors.
type signinData struct {
	Next        string
	Address     string
	Order       string
	OrderEmail  string
	CodeErrors  map[string]string
	CodeError   string
	OrderErrors map[string]string
	OrderError  string
	Ended       bool // arrived from a page whose session had ended
}

func (s *Server) portalHome(w http.ResponseWriter, r *http.Request) {
	sess, err := s.currentSession(r)
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	if sess == nil {
		http.Redirect(w, r, "/portal/signin", http.StatusSeeOther)
		return
	}
	ctx := context.WithValue(r.Context(), sessionKey{}, sess)
	list, err := s.Portal.Requests(ctx, sess)
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	if sess.TicketID != "" && len(list) == 1 {
		http.Redirect(w, r, "/portal/t/"+list[0].Key, http.StatusSeeOther)
		return
	}
	render(w, r.WithContext(ctx), http.StatusOK, portalList(list, zoneOf(sess)))
}

func (s *Server) portalSignin(w http.ResponseWriter, r *http.Request) {
	render(w, r, http.StatusOK, portalSignin(&signinData{Next: portalNext(r.URL.Query().Get("next"))}))
}

func (s *Server) portalRequestCode(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &signinData{Next: portalNext(r.PostFormValue("next")), Address: strings.TrimSpace(r.PostFormValue("address"))}
	ch, err := s.Portal.RequestCode(ctx, portal.CodeRequest{Address: d.Address, Lang: lang(ctx), IP: clientIP(r)})
	if err != nil {
		d.CodeErrors, d.CodeError = customerErrors(ctx, w, err, nil)
		render(w, r, status(err), portalSignin(d))
		return
	}
	q := url.Values{"c": {ch.ID}, "to": {ch.Masked}, "by": {ch.Channel}, "next": {d.Next}}
	http.Redirect(w, r, "/portal/signin/verify?"+q.Encode(), http.StatusSeeOther)
}

// verifyData is the code entry page's state.
type verifyData struct {
	Challenge string
	To        string // the masked address, as RequestCode gave it
	By        string // email or phone
	Next      string
	Code      string
	Errors    map[string]string
	Error     string
}

func (s *Server) portalVerifyPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	render(w, r, http.StatusOK, portalVerify(&verifyData{Challenge: q.Get("c"), To: q.Get("to"), By: q.Get("by"), Next: portalNext(q.Get("next"))}))
}

func (s *Server) portalVerify(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &verifyData{Challenge: r.PostFormValue("c"), To: r.PostFormValue("to"), By: r.PostFormValue("by"),
		Next: portalNext(r.PostFormValue("next")), Code: strings.TrimSpace(r.PostFormValue("code"))}
	sess, err := s.Portal.VerifyCode(ctx, portal.Verify{Challenge: d.Challenge, Code: d.Code, IP: clientIP(r), TimeZone: r.PostFormValue("tz")})
	if err != nil {
		d.Errors, d.Error = customerErrors(ctx, w, err, nil)
		render(w, r, status(err), portalVerify(d))
		return
	}
	s.setPortalCookie(w, sess)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

func (s *Server) portalOrder(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	d := &signinData{Next: "/portal", Order: strings.TrimSpace(r.PostFormValue("order")), OrderEmail: strings.TrimSpace(r.PostFormValue("email"))}
	sess, err := s.Portal.OrderAccess(ctx, portal.OrderSignIn{Order: d.Order, Email: d.OrderEmail, IP: clientIP(r), TimeZone: r.PostFormValue("tz")})
	if err != nil {
		d.OrderErrors, d.OrderError = customerErrors(ctx, w, err, nil)
		render(w, r, status(err), portalSignin(d))
		return
	}
	s.setPortalCookie(w, sess)
	http.Redirect(w, r, "/portal", http.StatusSeeOther)
}

// portalLinkPage asks before using a sign-in link: mail scanners open
// links to check them, and a GET that signed in would use the link up
// before the customer ever clicked.
func (s *Server) portalLinkPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	render(w, r, http.StatusOK, portalLinkConfirm(r.URL.Query().Get("t"), ""))
}

func (s *Server) portalLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.PostFormValue("t")
	sess, err := s.Portal.VerifyLink(ctx, token, clientIP(r), r.PostFormValue("tz"))
	if err != nil {
		fields, msg := customerErrors(ctx, w, err, nil)
		if msg == "" {
			msg = fields["token"]
		}
		render(w, r, status(err), portalLinkConfirm("", msg))
		return
	}
	s.setPortalCookie(w, sess)
	http.Redirect(w, r, "/portal", http.StatusSeeOther)
}

func (s *Server) portalSignout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(portalCookie); err == nil {
		if err := s.Portal.SignOut(r.Context(), c.Value); err != nil {
			s.customerFail(w, r, err)
			return
		}
	}
	s.clearPortalCookie(w)
	http.Redirect(w, r, "/portal/signin", http.StatusSeeOther)
}

// portalTicketData is a request's page: the view and the reply form.
type portalTicketData struct {
	View       *portal.TicketView
	Category   string
	ShopZone   bool // times are in the shop's zone, not the browser's: say which
	Now        time.Time
	Reply      string
	Errors     map[string]string
	Error      string
	SentNotice bool
	Limits     portal.Limits
	// Cases are the request's after-sales cases; Refused is the one
	// whose form was refused, and CaseSaved the one just changed.
	Cases     []*aftersales.Case
	Refused   refusedCase
	CaseSaved string
	// Workflows are the request's after-sales chains as the customer
	// sees them (workflow.CustomerProgress).
	Workflows []workflow.Progress
}

// portalPanels are the sections of a request's page, top to bottom. A
// part of Kefu with something to tell a customer about a request (an
// after-sales case, the steps of its workflow) adds its fields to
// portal.TicketView and its panel here, before the reply form.
func portalPanels(d *portalTicketData) []templ.Component {
	return []templ.Component{statusPanel(d), workProgressPanel(d), casePortalPanel(d), conversationPanel(d), replyPanel(d)}
}

func (s *Server) loadPortalTicket(ctx context.Context, key string) (*portalTicketData, error) {
	sess := customerSession(ctx)
	v, err := s.Portal.Ticket(ctx, sess, key)
	if err != nil {
		return nil, err
	}
	d := &portalTicketData{View: v, ShopZone: sess.TimeZone == "", Now: s.Now(), Category: v.Ticket.Category, Limits: s.Portal.LimitsInUse()}
	if s.Workflows != nil {
		if d.Workflows, err = s.Workflows.CustomerProgress(ctx, v.Ticket.ID, lang(ctx)); err != nil {
			return nil, err
		}
	}
	if d.Cases, err = s.portalCases(ctx, sess, v.Ticket.ID); err != nil {
		return nil, err
	}
	if cats, err := s.Tickets.Categories(ctx); err == nil {
		for _, c := range cats {
			if c.Key == v.Ticket.Category {
				d.Category = categoryName(ctx, c)
			}
		}
	}
	return d, nil
}

func categoryName(ctx context.Context, c ticket.Category) string {
	if lang(ctx) == "zh-CN" && c.NameZh != "" {
		return c.NameZh
	}
	return c.NameEn
}

func (s *Server) portalTicket(w http.ResponseWriter, r *http.Request) {
	d, err := s.loadPortalTicket(r.Context(), chi.URLParam(r, "key"))
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	d.SentNotice = r.URL.Query().Get("sent") != ""
	d.CaseSaved = r.URL.Query().Get("case")
	render(w, r, http.StatusOK, portalTicketPage(d))
}

func (s *Server) portalReply(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess := customerSession(ctx)
	photos, names, done, err := readPhotos(w, r, s.Portal.LimitsInUse())
	defer done()
	key := chi.URLParam(r, "key")
	if err == nil {
		var t *ticket.Ticket
		t, err = s.Portal.Reply(ctx, sess, key, portal.Reply{Text: r.FormValue("text"), Photos: photos, IP: clientIP(r)})
		if err == nil {
			http.Redirect(w, r, "/portal/t/"+url.PathEscape(t.Key)+"?sent=1#latest", http.StatusSeeOther)
			return
		}
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
	d.Reply = r.FormValue("text")
	d.Errors, d.Error = customerErrors(ctx, w, err, names)
	render(w, r, status(err), portalTicketPage(d))
}

func (s *Server) portalAttachment(w http.ResponseWriter, r *http.Request) {
	a, f, err := s.Portal.Attachment(r.Context(), customerSession(r.Context()), chi.URLParam(r, "id"))
	if err != nil {
		s.customerFail(w, r, err)
		return
	}
	defer f.Close()
	serveAttachment(w, r, a, f)
}

// zoneOf is where a session's times are shown when no ticket says more.
func zoneOf(sess *portal.Session) *time.Location {
	if sess.TimeZone != "" {
		if loc, err := time.LoadLocation(sess.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// stageText is a request's status in a customer's words.
func stageText(ctx context.Context, st portal.Stage) string {
	switch st {
	case portal.Received:
		return T(ctx, "portal.stage_received")
	case portal.WaitingOnYou:
		return T(ctx, "portal.stage_waiting")
	case portal.Resolved:
		return T(ctx, "portal.stage_solved")
	case portal.Finished:
		return T(ctx, "portal.stage_closed")
	}
	return T(ctx, "portal.stage_progress")
}

// stageHelp says what the status means for the customer.
func stageHelp(ctx context.Context, st portal.Stage) string {
	switch st {
	case portal.WaitingOnYou:
		return T(ctx, "portal.help_waiting")
	case portal.Resolved:
		return T(ctx, "portal.help_solved")
	case portal.Finished:
		return T(ctx, "portal.help_closed")
	}
	return ""
}

// promiseText is the next promised contact in plain words: "We will
// reply by Tuesday 14:00."
func promiseText(ctx context.Context, d *portalTicketData) string {
	p := d.View.Promise
	if p == nil {
		return ""
	}
	if p.Overdue {
		return T(ctx, "portal.promise_late")
	}
	when := whenText(ctx, p.At, d.Now, d.View.Location)
	if d.ShopZone {
		when += " (" + utcOffset(p.At.In(d.View.Location)) + ")"
	}
	switch p.Kind {
	case "agreed":
		return T(ctx, "portal.promise_agreed", "When", when)
	case "resolve":
		return T(ctx, "portal.promise_resolve", "When", when)
	}
	return T(ctx, "portal.promise_reply", "When", when)
}

// weekdayKeys names time.Weekday values as the weekday.* messages do.
var weekdayKeys = [...]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// whenText is a moment relative to now, as people say it: "14:00 today",
// "Tuesday 14:00", "Tuesday 10 March 14:00".
func whenText(ctx context.Context, at, now time.Time, loc *time.Location) string {
	at, now = at.In(loc), now.In(loc)
	clock := at.Format("15:04")
	y, m, d := now.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, loc)
	days := int(time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc).Sub(today).Hours() / 24)
	day := T(ctx, "weekday."+weekdayKeys[at.Weekday()])
	switch {
	case days == 0:
		return T(ctx, "portal.when_today", "Time", clock)
	case days == 1:
		return T(ctx, "portal.when_tomorrow", "Time", clock)
	case days > 1 && days < 7:
		return T(ctx, "portal.when_weekday", "Day", day, "Time", clock)
	}
	date := at.Format("2 January")
	if lang(ctx) == "zh-CN" {
		date = fmt.Sprintf("%d月%d日", at.Month(), at.Day())
	}
	return T(ctx, "portal.when_date", "Day", day, "Date", date, "Time", clock)
}

// utcOffset is a zone as "UTC+8" or "UTC-3:30".
func utcOffset(t time.Time) string {
	_, off := t.Zone()
	sign := "+"
	if off < 0 {
		sign, off = "-", -off
	}
	s := "UTC" + sign + strconv.Itoa(off/3600)
	if m := off % 3600 / 60; m != 0 {
		s += fmt.Sprintf(":%02d", m)
	}
	return s
}

// localTime shows a moment in the page's zone.
func localTime(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01-02 15:04") }
