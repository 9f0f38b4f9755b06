package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/demo"
	"github.com/kefu-desk/kefu/internal/team"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// DemoCmd serves Kefu with demo data on the embedded SQLite store.
type DemoCmd struct {
	StoreConfig  `embed:""`
	Listen       string `help:"Address to listen on." default:"127.0.0.1:8080" env:"KEFU_LISTEN"`
	Tickets      int    `help:"How many demo tickets to create in an empty store (beyond 1000 they are bulk-generated)." default:"300"`
	NoServe      bool   `help:"Load the demo data and exit."`
	PortalConfig `embed:""`
}

const demoAdmin = "admin@demo.kefu.local"

// Run loads demo data into an empty store, resets the demo accounts'
// password (printed, new each start) and serves.
func (c *DemoCmd) Run(ctx context.Context) error {
	app, err := openApp(ctx, c.StoreConfig, false)
	if err != nil {
		return err
	}
	defer app.Close()
	sys := kefu.WithActor(ctx, kefu.System)
	staff, err := app.Team.ListStaff(sys, team.StaffFilter{IncludeDisabled: true})
	if err != nil {
		return err
	}
	if len(staff) == 0 {
		if err := c.load(ctx, app); err != nil {
			return err
		}
	}
	password := newPassword()
	if err := ensureAdmin(sys, app, password); err != nil {
		return err
	}
	if err := app.configurePortal(c.PortalConfig); err != nil {
		return err
	}
	if c.NoServe {
		fmt.Printf("demo data ready in %s; sign in as %s with password %s\n", app.DB.URL, demoAdmin, password)
		return nil
	}
	return serve(ctx, app, c.Listen, 5*time.Second, func(url string) {
		if app.Portal.PublicURL == "" {
			app.Portal.PublicURL = url // the demo's links point at itself
		}
		fmt.Printf("\nKefu demo is running at %s\n  sign in as %s\n  password   %s\n(every demo staff account, e.g. li.na@demo.kefu.local, has the same password; it changes each start)\n  customers: %s/contact (contact form), %s/portal (portal)\n\n", url, demoAdmin, password, url, url)
	})
}

func (c *DemoCmd) load(ctx context.Context, app *App) error {
	started := time.Now()
	seeded := min(c.Tickets, 1000)
	// Demo tickets are history, imported rather than written now: their
	// replies were never meant to be mailed, so they skip outbound mail.
	history := *app.Tickets
	history.Hooks = slices.DeleteFunc(slices.Clone(app.Tickets.Hooks), func(h ticket.Hook) bool { return h == ticket.Hook(app.Mail.Outbound) })
	res, err := demo.Seed(ctx, demo.Services{Team: app.Team, Customers: app.Customers, Tickets: &history}, app.Now(), seeded, 1)
	if err != nil {
		return err
	}
	slog.Info("demo data loaded", "departments", res.Departments, "staff", res.Staff, "customers", res.Customers, "tickets", res.Tickets, "took", time.Since(started).Round(time.Millisecond))
	if err := demo.SeedSLA(ctx, app.Calendars, app.SLA); err != nil {
		return err
	}
	shopRes, err := demo.SeedShop(ctx, app.Shop, app.DB, app.Now(), 1)
	if err != nil {
		return err
	}
	slog.Info("demo shop loaded", "products", shopRes.Products, "orders", shopRes.Orders)
	// The demo's tickets get their SLA policy now rather than from the
	// deferred job, so the chains started on them count in its calendar.
	if err := app.SLA.Recompute(ctx, ""); err != nil {
		return err
	}
	chains, err := demo.SeedWorkflows(ctx, app.Workflows, app.Tickets)
	if err != nil {
		return err
	}
	slog.Info("demo workflows loaded", "started", chains)
	cases, err := demo.SeedAftersales(ctx, app.Aftersales, app.Tickets)
	if err != nil {
		return err
	}
	slog.Info("demo after-sales cases opened", "cases", cases)
	if rest := c.Tickets - seeded; rest > 0 {
		last := time.Now()
		err := demo.Bulk(ctx, app.DB, rest, app.Now(), 2, func(done int) {
			if time.Since(last) > 5*time.Second {
				slog.Info("generating tickets", "done", done, "of", rest)
				last = time.Now()
			}
		})
		if err != nil {
			return err
		}
		slog.Info("bulk tickets generated", "tickets", rest, "took", time.Since(started).Round(time.Second))
	}
	return nil
}

// ensureAdmin creates the demo admin if needed and gives every demo
// account the password of this run.
func ensureAdmin(ctx context.Context, app *App, password string) error {
	if _, err := app.Team.StaffByEmail(ctx, demoAdmin); kefu.IsCode(err, kefu.NotFound) {
		if _, err := app.Team.CreateStaff(ctx, team.NewStaff{Email: demoAdmin, Name: "Demo admin 管理员", Role: kefu.RoleAdmin,
			Departments: []string{"customer-service", "management"}}); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	staff, err := app.Team.ListStaff(ctx, team.StaffFilter{})
	if err != nil {
		return err
	}
	hash, err := app.Auth.HashPassword(password)
	if err != nil {
		return err
	}
	for _, st := range staff {
		if _, err := app.DB.Write.ExecContext(ctx, `UPDATE staff SET password_hash = $2 WHERE id = $1`, st.ID, hash); err != nil {
			return err
		}
	}
	return nil
}

// newPassword makes a password that is easy to type from the terminal.
func newPassword() string {
	const alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
	b := make([]byte, 14)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:9]) + "-" + string(b[9:])
}
