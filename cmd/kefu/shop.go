package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/email"
	"github.com/kefu-desk/kefu/internal/shop"
)

// newShop builds the shop mirror; its notices to customers go out as
// mail through the email channel's outbound queue.
func newShop(a *App) *shop.Service {
	out := a.Mail.Outbound
	return &shop.Service{DB: a.DB, Now: a.Now, Customers: a.Customers,
		Mail: func(ctx context.Context, tx *sql.Tx, to, subject, text string) (string, error) {
			return out.NotifyCustomer(ctx, tx, email.CustomerNotice{To: to, Subject: subject, Text: text})
		}}
}

// shopSweepEvery is how often the cluster looks for orders that have just
// become late; a delay notice goes out at most this long after the
// expected day ends.
const shopSweepEvery = time.Minute

// shopSweep sends delay notices for orders past their expected delivery
// on one instance at a time, and forgets webhook deliveries too old to be
// replayed.
func (a *App) shopSweep(ctx context.Context) {
	a.Leases.Every(ctx, "shop.sweep", shopSweepEvery, func(ctx context.Context) error {
		if _, err := a.Shop.PruneDeliveries(ctx); err != nil {
			slog.Warn("webhook delivery cleanup", "err", err)
		}
		for {
			n, err := a.Shop.SweepDelays(ctx)
			if err != nil || n < shop.SweepBatch {
				return err
			}
		}
	})
}

// ImportCmd groups the importers.
type ImportCmd struct {
	Orders ImportOrdersCmd `cmd:"" help:"Import orders from a CSV file, one line per order item (docs/shop.md). A file with a bad line is refused whole; importing a file again changes nothing."`
}

// ImportOrdersCmd imports orders from CSV.
type ImportOrdersCmd struct {
	StoreConfig `embed:""`
	File        string `arg:"" help:"The CSV file." type:"path"`
	Shop        string `help:"The shop's code; may be left out while Kefu mirrors one shop." placeholder:"CODE"`
	NoNotices   bool   `help:"Mail no confirmations or delay notices, even for orders placed in the last 48 hours."`
	Batch       int    `help:"Orders written per transaction." default:"500"`
}

// Run checks the whole file, then imports it, and prints what it did.
func (c *ImportOrdersCmd) Run(ctx context.Context) error { return c.run(ctx, os.Stdout) }

func (c *ImportOrdersCmd) run(ctx context.Context, w io.Writer) error {
	f, err := os.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	app, err := openApp(ctx, c.StoreConfig, false)
	if err != nil {
		return err
	}
	defer app.Close()
	name := filepath.Base(c.File)
	ctx = kefu.WithActor(ctx, kefu.Actor{Kind: kefu.ActorSystem, ID: "import", Name: "kefu import orders " + name, Role: kefu.RoleAdmin})
	started, last := time.Now(), time.Now()
	res, err := app.Shop.ImportOrders(ctx, f, shop.ImportOptions{Shop: c.Shop, Notify: !c.NoNotices, Batch: c.Batch, Progress: func(n int) {
		if time.Since(last) > 5*time.Second {
			slog.Info("importing orders", "done", n)
			last = time.Now()
		}
	}})
	if err != nil {
		if res != nil && res.Created+res.Updated+res.Unchanged > 0 {
			return fmt.Errorf("%s: %w (%d orders were stored before it; run the import again to finish)", name, err, res.Created+res.Updated+res.Unchanged)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	_, err = fmt.Fprintf(w, "%s: %d orders in %d lines: %d created, %d updated, %d unchanged, in %s\n", name, res.Orders, res.Lines,
		res.Created, res.Updated, res.Unchanged, time.Since(started).Round(time.Millisecond))
	return err
}

// ShopCmd manages shops from the command line.
type ShopCmd struct {
	Create ShopCreateCmd `cmd:"" help:"Add a shop and print its webhook secret (shown once)."`
}

// ShopCreateCmd adds a shop.
type ShopCreateCmd struct {
	StoreConfig `embed:""`
	Code        string `help:"Short name in URLs and imports: lower-case letters, digits, dashes." required:""`
	Name        string `help:"The shop's name." required:""`
	Timezone    string `help:"IANA zone in which return windows close." default:"Asia/Shanghai"`
	Currency    string `help:"ISO 4217 code of its orders." default:"CNY"`
	Language    string `help:"Language of notices to customers who have none: zh-CN or en." default:"zh-CN"`
}

// Run creates the shop.
func (c *ShopCreateCmd) Run(ctx context.Context) error {
	app, err := openApp(ctx, c.StoreConfig, false)
	if err != nil {
		return err
	}
	defer app.Close()
	sh, secret, err := app.Shop.CreateShop(kefu.WithActor(ctx, kefu.System),
		shop.ShopInput{Code: c.Code, Name: c.Name, Timezone: c.Timezone, Currency: c.Currency, Language: c.Language})
	if err != nil {
		return err
	}
	fmt.Printf("shop %s created; webhook URL /api/v1/shops/%s/webhook\nwebhook secret %s (shown once)\n", sh.Code, sh.Code, secret)
	return nil
}
