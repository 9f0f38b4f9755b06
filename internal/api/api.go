// Package api serves Kefu's JSON API under /api/v1. The OpenAPI 3.1
// document is generated from the Go types by huma and served at
// /api/v1/openapi.json; requests are validated against it and every error
// is RFC 9457 problem+json.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"path"
	"reflect"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"
	"github.com/go-chi/chi/v5"
	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/canned"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/search"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// Version is the API's version in the OpenAPI document.
const Version = "1.0.0"

// Deps are the services the API serves.
type Deps struct {
	DB        *database.DB
	Tickets   *ticket.Service
	Customers *customer.Service
	Team      *team.Service
	Auth      *auth.Service
	Sessions  *scs.SessionManager
	Now       func() time.Time
	Calendars *calendar.Service
	SLA       *sla.Service
	Search    *search.Service
	Canned    *canned.Service
	// The email channel.
	Mailboxes *email.Mailboxes
	Inbound   *email.Inbound
	Outbound  *email.Outbound
	IMAPDial  email.Dialer
	// Portal, when set, adds the contact form's routes.
	Portal *portal.Service
	// Shop, when set, adds the shops, products and orders.
	Shop *shop.Service
	// Workflows runs after-sales chains.
	Workflows *workflow.Service
	// Aftersales, when set, adds after-sales cases and their report.
	Aftersales *aftersales.Service
}

// Server is the API handler with its OpenAPI description.
type Server struct {
	Deps
	api     huma.API
	handler http.Handler
}

// New builds the API. Mount Handler() at /api/v1.
func New(d Deps) *Server {
	s := &Server{Deps: d}
	r := chi.NewRouter()
	r.Use(s.authenticate, s.idempotent)
	cfg := huma.DefaultConfig("Kefu API", Version)
	cfg.Info.Description = "Customer service and after-sales desk. Authenticate with a session cookie (POST /auth/login) or an API token (Authorization: Bearer kfu_…)."
	cfg.Servers = []*huma.Server{{URL: "/api/v1"}}
	cfg.OpenAPIPath = "/openapi"
	cfg.DocsPath = ""
	// No $schema links in bodies: clients get plain resources.
	cfg.CreateHooks = nil
	cfg.Transformers = nil
	cfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		"token":   {Type: "http", Scheme: "bearer", Description: "An API token created under /tokens"},
		"session": {Type: "apiKey", In: "cookie", Name: sessionCookie, Description: "The session cookie set by /auth/login"},
	}
	cfg.Components.Schemas = huma.NewMapRegistry("#/components/schemas/", schemaName)
	s.api = humachi.New(r, cfg)
	s.api.UseMiddleware(s.authorize)
	s.routes()
	s.handler = r
	return s
}

// Handler serves the API; it expects to be mounted at /api/v1 with the
// prefix stripped.
func (s *Server) Handler() http.Handler { return s.handler }

// OpenAPI returns the generated document.
func (s *Server) OpenAPI() *huma.OpenAPI { return s.api.OpenAPI() }

const sessionCookie = "kefu_session"

// NewSessions returns the session manager Kefu uses for staff sign-in,
// storing sessions in the database so every instance sees them.
func NewSessions(store scs.Store, secure bool) *scs.SessionManager {
	m := scs.New()
	m.Store = store
	m.Lifetime = 14 * 24 * time.Hour
	m.IdleTimeout = 12 * time.Hour
	m.Cookie.Name = sessionCookie
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = secure
	m.Cookie.Path = "/"
	return m
}

// authenticate puts the actor of a request in its context: from a bearer
// token, or from the staff id in the session. Anonymous requests pass on
// and are refused by routes that need an actor.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if h := r.Header.Get("Authorization"); h != "" {
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				writeProblem(w, r, &Problem{Status: 401, Title: "Unauthorized", Code: string(kefu.Unauthorized), Detail: "Authorization must be Bearer <token>"})
				return
			}
			a, err := s.Auth.Authenticate(ctx, strings.TrimSpace(token))
			if err != nil {
				writeProblem(w, r, problem(ctx, err))
				return
			}
			next.ServeHTTP(w, r.WithContext(kefu.WithActor(ctx, a)))
			return
		}
		if id := s.Sessions.GetString(ctx, "staff_id"); id != "" {
			a, err := s.Team.ActorFor(ctx, id)
			switch {
			case err == nil:
				ctx = kefu.WithActor(ctx, a)
			case kefu.IsCode(err, kefu.NotFound), kefu.IsCode(err, kefu.Unauthorized):
				// Disabled or removed since signing in: the session ends here.
				if err := s.Sessions.Destroy(ctx); err != nil {
					writeProblem(w, r, problem(ctx, err))
					return
				}
			default:
				writeProblem(w, r, problem(ctx, err))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// op registers an operation. Every route names the scope it needs; the
// wrapper refuses anonymous callers and tokens without that scope before
// the handler runs, and turns the handler's errors into problems. Routes
// with scope "" are public. status is the success status when not 200.
func op[I, O any](s *Server, method, path, id, summary, scope string, h func(context.Context, *I) (*O, error), status ...int) {
	o := huma.Operation{OperationID: id, Method: method, Path: path, Summary: summary}
	if len(status) > 0 {
		o.DefaultStatus = status[0]
	}
	register(s, o, scope, h)
}

// register is op for an operation that needs more than op sets (its own
// body limit, more documented errors): o's tag, errors and security are
// completed the same way.
func register[I, O any](s *Server, o huma.Operation, scope string, h func(context.Context, *I) (*O, error)) {
	o.Tags = []string{tagOf(o.Path)}
	o.Errors = append(documentedErrors(o.Method, o.Path, scope), o.Errors...)
	if scope != "" {
		o.Security = []map[string][]string{{"token": {scope}}, {"session": {}}}
		o.Metadata = map[string]any{"scope": scope}
	}
	huma.Register(s.api, o, func(ctx context.Context, in *I) (*O, error) {
		out, err := h(ctx, in)
		if err != nil {
			return nil, problem(ctx, err)
		}
		return out, nil
	})
}

// authorize refuses anonymous callers and tokens without the operation's
// scope before the request body is even read, so nobody learns anything
// about an operation they may not call.
func (s *Server) authorize(hc huma.Context, next func(huma.Context)) {
	scope, _ := hc.Operation().Metadata["scope"].(string)
	if scope == "" {
		next(hc)
		return
	}
	a := kefu.ActorFrom(hc.Context())
	switch {
	case a.Kind == "":
		huma.WriteErr(s.api, hc, http.StatusUnauthorized, "sign in or send an API token")
	case !a.HasScope(scope):
		huma.WriteErr(s.api, hc, http.StatusForbidden, "this token lacks the scope "+scope)
	default:
		next(hc)
	}
}

// documentedErrors lists the problems an operation can answer with, so
// clients see them in the document.
func documentedErrors(method, path, scope string) []int {
	errs := []int{http.StatusUnprocessableEntity, http.StatusInternalServerError}
	if scope != "" {
		errs = append(errs, http.StatusUnauthorized, http.StatusForbidden)
	}
	if strings.Contains(path, "{") {
		errs = append(errs, http.StatusNotFound)
	}
	if method != http.MethodGet {
		errs = append(errs, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge)
	}
	if method == http.MethodPatch || method == http.MethodPut {
		errs = append(errs, http.StatusPreconditionFailed)
	}
	if path == "/auth/login" {
		errs = append(errs, http.StatusUnauthorized, http.StatusTooManyRequests)
	}
	return errs
}

// schemaName prefixes a domain type's name with its package when the
// name alone would be ambiguous (ticket.Patch and customer.Patch become
// TicketPatch and CustomerPatch).
func schemaName(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	pkg := path.Base(t.PkgPath())
	if !strings.Contains(t.PkgPath(), "/internal/") || pkg == "api" || pkg == "" {
		return name
	}
	prefix := strings.ToUpper(pkg[:1]) + pkg[1:]
	if strings.HasPrefix(name, prefix) {
		return name
	}
	return prefix + name
}

func tagOf(path string) string {
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")[0]
	return strings.ReplaceAll(seg, "-", " ")
}

func writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p, ok := err.(*Problem)
	if !ok {
		p = &Problem{Status: 500, Title: "Internal Server Error", Detail: err.Error()}
	}
	for k, vs := range p.headers {
		w.Header()[k] = vs
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	if err := jsonEncode(w, p); err != nil {
		slog.DebugContext(r.Context(), "write problem", "err", err)
	}
}
