package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/kefu-desk/kefu/internal/aftersales"
	"github.com/kefu-desk/kefu/internal/api"
	"github.com/kefu-desk/kefu/internal/auth"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/calendar"
	"github.com/kefu-desk/kefu/internal/canned"
	"github.com/kefu-desk/kefu/internal/chat"
	"github.com/kefu-desk/kefu/internal/customer"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/events"
	"github.com/kefu-desk/kefu/internal/jobs"
	"github.com/kefu-desk/kefu/internal/portal"
	"github.com/kefu-desk/kefu/internal/search"
	"github.com/kefu-desk/kefu/internal/shop"
	"github.com/kefu-desk/kefu/internal/sla"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
	"github.com/kefu-desk/kefu/internal/web"
	"github.com/kefu-desk/kefu/internal/workflow"
)

// StoreConfig says where Kefu keeps its data.
type StoreConfig struct {
	DB      string `help:"SQLite file path or postgres:// URL." default:"kefu-data/kefu.db" env:"KEFU_DB" placeholder:"PATH|URL"`
	DataDir string `help:"Directory for attachments and other files." default:"kefu-data" env:"KEFU_DATA_DIR" type:"path"`
}

// App is Kefu with every dependency wired: the one place that decides
// which implementation each service gets.
type App struct {
	DB        *database.DB
	Tickets   *ticket.Service
	Customers *customer.Service
	Team      *team.Service
	Auth      *auth.Service
	Sessions  *scs.SessionManager
	Calendars *calendar.Service
	SLA       *sla.Service
	Search    *search.Service
	Canned    *canned.Service
	sessions  *auth.SessionStore
	API       *api.Server
	Events    *events.Bus
	Web       *web.Server
	Now       func() time.Time
	// Jobs is the outbox every change writes its follow-up work to;
	// Runner executes it, with one handler per job kind registered below.
	// Leases let one instance of a cluster run each periodic task.
	Jobs   *jobs.Queue
	Runner *jobs.Runner
	Leases *jobs.Leases
	Mail   *mailChannel
	// Chat is the live chat; ChatHub hands its events to this instance's
	// streams.
	Chat    *chat.Service
	ChatHub *chat.Hub
	// proxies are the reverse proxies whose X-Forwarded-For names the
	// client (ServeCmd's --trusted-proxies).
	proxies []netip.Prefix
	// Portal is the contact form and the customer portal.
	Portal *portal.Service
	// Shop mirrors the shops' catalogues and orders.
	Shop *shop.Service
	// Aftersales runs returns, exchanges, repairs, refunds and complaints.
	Aftersales *aftersales.Service
	// Workflows runs after-sales chains stage by stage.
	Workflows *workflow.Service
}

// clock is the only reader of the wall clock; everything else is handed
// it. Both engines keep microseconds, so that is what we hand out.
func clock() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// openApp opens the store, migrates it and builds the services.
func openApp(ctx context.Context, cfg StoreConfig, secureCookies bool) (*App, error) {
	db, err := database.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	version, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	slog.Info("database ready", "engine", db.Dialect.Name(), "location", db.URL, "schema", version)
	return newApp(db, cfg.DataDir, secureCookies, clock, auth.DefaultParams), nil
}

// newApp builds the services on an open, migrated store.
func newApp(db *database.DB, dataDir string, secureCookies bool, now func() time.Time, cost auth.Params) *App {
	a := &App{DB: db, Now: now}
	// On SQLite the queue and the runner must share one notifier, so an
	// enqueue wakes the workers of this process at once.
	notifier := &jobs.Notifier{DB: db}
	owner := jobs.DefaultOwner()
	a.Jobs = &jobs.Queue{DB: db, Now: now, Notifier: notifier}
	a.Runner = &jobs.Runner{DB: db, Now: now, Notifier: notifier, Owner: owner, Handlers: map[string]jobs.Handler{}}
	a.Leases = &jobs.Leases{DB: db, Now: now, Owner: owner}
	a.Customers = &customer.Service{DB: db, Now: now}
	a.Tickets = &ticket.Service{DB: db, Now: now, Blobs: blob.New(db, filepath.Join(dataDir, "blobs"), now), Customers: a.Customers}
	a.Team = &team.Service{DB: db, Now: now}
	a.Auth = &auth.Service{DB: db, Team: a.Team, Now: now, Params: cost}
	a.Team.Hash = a.Auth.HashPassword
	a.sessions = &auth.SessionStore{DB: db, Now: now}
	a.Sessions = api.NewSessions(a.sessions, secureCookies)
	a.Calendars = &calendar.Service{DB: db, Now: now}
	a.SLA = &sla.Service{DB: db, Now: now, Calendars: a.Calendars, Tickets: a.Tickets, Enqueue: slaEmail(a.Jobs), DeferRecompute: true}
	a.Runner.Handlers[sla.RecomputeKind] = slaRecompute(a.SLA)
	a.Tickets.Hooks = append(a.Tickets.Hooks, a.SLA)
	a.Calendars.Hooks = append(a.Calendars.Hooks, a.SLA)
	// Search indexes every change inside its transaction.
	a.Search = search.New(db)
	a.Tickets.Hooks = append(a.Tickets.Hooks, a.Search)
	a.Customers.Hooks = append(a.Customers.Hooks, a.Search)
	a.Canned = &canned.Service{DB: db, Now: now}
	a.Mail = newMail(a)
	// The portal acknowledges form submissions in their own transaction,
	// so it is a ticket hook; its codes cost what passwords cost.
	a.Portal = &portal.Service{DB: db, Now: now, Tickets: a.Tickets, Customers: a.Customers, Mail: a.Mail.Outbound, Jobs: a.Jobs,
		SLA: a.SLA, Hashes: a.Auth}
	a.Tickets.Hooks = append(a.Tickets.Hooks, a.Portal)
	a.Shop = newShop(a)
	a.Aftersales = newAftersales(a)
	a.Workflows = newWorkflows(a)
	a.API = api.New(api.Deps{DB: db, Tickets: a.Tickets, Customers: a.Customers, Team: a.Team, Auth: a.Auth, Sessions: a.Sessions, Now: now,
		Calendars: a.Calendars, SLA: a.SLA, Search: a.Search, Canned: a.Canned,
		Mailboxes: a.Mail.Mailboxes, Inbound: a.Mail.Inbound, Outbound: a.Mail.Outbound, IMAPDial: email.DialIMAP, Portal: a.Portal,
		Shop: a.Shop, Aftersales: a.Aftersales, Workflows: a.Workflows})
	// Every committed ticket change reaches open consoles on every instance.
	a.Events = events.New(db, slog.Default())
	a.Tickets.Hooks = append(a.Tickets.Hooks, events.Hook{Bus: a.Events})
	// Live chat follows every change of a chat ticket, after the other
	// hooks, in the change's transaction.
	a.Chat = &chat.Service{DB: db, Now: now, Tickets: a.Tickets, Customers: a.Customers, Calendars: a.Calendars, SLA: a.SLA,
		Bus: a.Events, Mail: a.Mail.Outbound}
	a.Chat.Init()
	a.Tickets.Hooks = append(a.Tickets.Hooks, a.Chat)
	a.ChatHub = chat.NewHub(a.Chat)
	a.Web = web.New(web.Deps{DB: db, Shop: a.Shop, Tickets: a.Tickets, Customers: a.Customers, Team: a.Team, Auth: a.Auth,
		Sessions: a.Sessions, Events: a.Events, SLA: a.SLA, Search: a.Search, Now: now, Calendars: a.Calendars, Canned: a.Canned,
		Mailboxes: a.Mail.Mailboxes, MailDial: email.DialIMAP, Chat: a.Chat, ChatHub: a.ChatHub, Portal: a.Portal,
		Aftersales: a.Aftersales, Workflows: a.Workflows})
	return a
}

// Handler is the whole HTTP surface.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", http.StripPrefix("/api/v1", a.API.Handler()))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.DB.Write.PingContext(ctx); err != nil {
			http.Error(w, "database unreachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	// The agent console owns every other path.
	mux.Handle("/", a.Web.Handler())
	// Browsers send Sec-Fetch-Site/Origin; a cross-site POST riding on
	// the session cookie is refused. Token clients send neither and pass.
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(api.CrossOriginDenied))
	// The chat widget calls from the shop's pages, cross-site by design,
	// with a visitor token and never a session cookie.
	csrf.AddInsecureBypassPattern("/chat/v1/")
	return recoverer(fromProxies(a.proxies, api.RemoteAddr(csrf.Handler(a.Sessions.LoadAndSave(mux)))))
}

// Close releases the store.
func (a *App) Close() error {
	a.ChatHub.Close()
	a.Events.Close()
	return a.DB.Close()
}

// sweep runs housekeeping every interval until ctx ends. Each task is
// idempotent, so several instances running it at once do no harm.
func (a *App) sweep(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := a.sessions.Cleanup(ctx); err != nil {
			slog.Warn("session cleanup", "err", err)
		} else if n > 0 {
			slog.Debug("expired sessions removed", "n", n)
		}
		if _, err := a.Portal.Sweep(ctx); err != nil {
			slog.Warn("portal cleanup", "err", err)
		}
		if _, err := a.Auth.PruneFailures(ctx, 30*24*time.Hour); err != nil {
			slog.Warn("login failure cleanup", "err", err)
		}
		if _, err := a.DB.Write.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, a.Now().Add(-48*time.Hour)); err != nil {
			slog.Warn("idempotency key cleanup", "err", err)
		}
	}
}

func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				slog.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(p))
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
