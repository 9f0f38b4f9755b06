package ticket_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/blob"
	"github.com/kefu-desk/kefu/internal/database"
	"github.com/kefu-desk/kefu/internal/database/databasetest"
	"github.com/kefu-desk/kefu/internal/ticket"
)

// TestAttachmentsCommitWithTheirMessage stores a small attachment (kept
// in the database, written in the message's transaction) and a large one
// (a file, written before it), reads both back byte for byte, and checks
// that a refused message leaves no small attachment behind.
func TestAttachmentsCommitWithTheirMessage(t *testing.T) {
	databasetest.Each(t, func(t *testing.T, db *database.DB) {
		f := setup(t, db)
		small := []byte("\x89PNG 尺码表")
		large := bytes.Repeat([]byte("开箱视频"), blob.Threshold/4)
		nt := newTicket("wang.fang@example.cn", "换货：连衣裙尺码")
		nt.Message.Attachments = []ticket.Upload{
			{Filename: "尺码表.png", ContentType: "image/png", Content: bytes.NewReader(small)},
			{Filename: "unboxing.mp4", ContentType: "video/mp4", Content: bytes.NewReader(large)},
		}
		tk, err := f.tickets.Create(f.ctx, nt)
		if err != nil {
			t.Fatal(err)
		}
		ms, err := f.tickets.Messages(f.ctx, tk.ID, "", 10)
		if err != nil || len(ms) != 1 || len(ms[0].Attachments) != 2 {
			t.Fatalf("messages %+v, %v", ms, err)
		}
		for i, want := range [][]byte{small, large} {
			_, rc, err := f.tickets.OpenAttachment(f.ctx, ms[0].Attachments[i].ID)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, want) {
				t.Fatalf("attachment %d read back as %d bytes, want %d", i, len(got), len(want))
			}
		}

		closed := ticket.Closed
		if _, err := f.tickets.Update(f.ctx, tk.ID, 0, ticket.Patch{Status: &closed}); err != nil {
			t.Fatal(err)
		}
		refused := []byte("an agent's note to a closed ticket")
		_, _, err = f.tickets.AddMessage(f.ctx, tk.ID, ticket.NewMessage{Kind: ticket.Note, Text: "补充",
			Attachments: []ticket.Upload{{Filename: "note.txt", Content: bytes.NewReader(refused)}}})
		if !kefu.IsCode(err, kefu.Invalid) {
			t.Fatalf("note on a closed ticket: %v, want invalid", err)
		}
		h := sha256.Sum256(refused)
		if ok, err := f.tickets.Blobs.Exists(context.Background(), hex.EncodeToString(h[:])); ok || err != nil {
			t.Fatalf("the refused note's attachment was stored (%v, %v)", ok, err)
		}
	})
}
