package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The import command: a bad file is refused with one line naming the
// line and column, storing nothing; a good one is imported, and again
// changes nothing.
func TestImportOrdersCommand(t *testing.T) {
	dir := t.TempDir()
	store := []string{"--db", filepath.Join(dir, "kefu.db"), "--data-dir", dir}
	ctx := context.Background()
	if err := run(ctx, append([]string{"shop", "create", "--code", "tianhe", "--name", "天河新盟服饰"}, store...)); err != nil {
		t.Fatal(err)
	}
	header := "order_number,ordered_at,customer_email,sku,quantity,unit_price\n"
	bad := filepath.Join(dir, "orders.csv")
	os.WriteFile(bad, []byte(header+"SO-1,2025-05-01 10:00,a@example.cn,A,1,10\nSO-2,2025-05-01 11:00,b@example.cn,B,two,10\n"), 0o600)
	err := run(ctx, append([]string{"import", "orders", bad}, store...))
	if got, want := oneLine(err), `orders.csv: line 3, column quantity: must be a whole number, got "two"`; got != want {
		t.Fatalf("bad file:\n got %q\nwant %q", got, want)
	}
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte(header+"SO-1,2025-05-01 10:00,a@example.cn,A,1,10\nSO-1,2025-05-01 10:00,a@example.cn,C,2,5\nSO-2,2025-05-01 11:00,b@example.cn,B,2,10\n"), 0o600)
	for _, want := range []string{"good.csv: 2 orders in 3 lines: 2 created, 0 updated, 0 unchanged", "good.csv: 2 orders in 3 lines: 0 created, 0 updated, 2 unchanged"} {
		var out strings.Builder
		cmd := ImportOrdersCmd{StoreConfig: StoreConfig{DB: filepath.Join(dir, "kefu.db"), DataDir: dir}, File: good, Batch: 1}
		if err := cmd.run(ctx, &out); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(out.String(), want) {
			t.Errorf("got %q, want %q", out.String(), want)
		}
	}
	err = run(ctx, append([]string{"import", "orders", good, "--shop", "nanbei"}, store...))
	if !strings.Contains(oneLine(err), "no shop nanbei") {
		t.Errorf("unknown shop: %v", err)
	}
}
