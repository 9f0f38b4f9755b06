package main

import (
	"context"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/search"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// TestSearchReindexCommand loses the index of a store and rebuilds it with
// kefu search reindex.
func TestSearchReindexCommand(t *testing.T) {
	db := t.TempDir() + "/kefu.db"
	ctx := kefu.WithActor(context.Background(), kefu.System)
	app, err := openApp(ctx, StoreConfig{DB: db, DataDir: t.TempDir()}, false)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	_, err = app.Tickets.Create(ctx, ticket.NewTicket{Subject: "发票怎么开", Channel: "email", Category: "billing",
		Customer: ticket.CustomerRef{Email: "inv@example.cn"}, Message: ticket.NewMessage{Kind: ticket.FromCustomer, Text: "需要增值税发票"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.DB.Write.Exec(`DELETE FROM search_docs`); err != nil {
		t.Fatal(err)
	}
	if err := run(ctx, []string{"search", "reindex", "--db", db}); err != nil {
		t.Fatal(err)
	}
	res, err := app.Search.Search(ctx, search.Query{Text: "发票"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tickets) != 1 || len(res.Messages) != 1 {
		t.Fatalf("after reindex: %d tickets, %d messages", len(res.Tickets), len(res.Messages))
	}
}
