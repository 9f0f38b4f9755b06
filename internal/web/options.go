package web

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/kefu-desk/kefu"
	"github.com/kefu-desk/kefu/internal/ticket"
)

func meID(ctx context.Context) string { return kefu.ActorFrom(ctx).ID }

// statusOptions offers only the statuses the ticket may move to, so the
// menu never proposes a refusal.
func statusOptions(ctx context.Context, cur ticket.Status) []option {
	var out []option
	for _, st := range ticket.Statuses {
		if ok, _ := ticket.CanMove(cur, st); ok {
			out = append(out, option{string(st), statusLabel(ctx, st)})
		}
	}
	return out
}

func priorityOptions(ctx context.Context) []option {
	out := make([]option, len(ticket.Priorities))
	for i, p := range ticket.Priorities {
		out[i] = option{string(p), priorityLabel(ctx, p)}
	}
	return out
}

func categoryOptions(ctx context.Context, d *directory, cur string) []option {
	var out []option
	for _, c := range d.Categories {
		if c.Archived && c.Key != cur {
			continue
		}
		out = append(out, option{c.Key, categoryLabel(ctx, c)})
	}
	return out
}

func staffOptions(ctx context.Context, d *directory) []option {
	out := []option{{"", T(ctx, "field.nobody")}}
	for _, st := range d.Staff {
		label := st.Name
		if p := presenceOf(d.Presence, st.ID); p != Offline {
			label += " · " + T(ctx, "presence."+p)
		}
		out = append(out, option{st.ID, label})
	}
	return out
}

func deptOptions(ctx context.Context, d *directory) []option {
	out := []option{{"", T(ctx, "field.nodepartment")}}
	for _, dp := range d.Departments {
		out = append(out, option{dp.ID, deptName(ctx, dp)})
	}
	return out
}

func customOptions(def ticket.CustomField) []option {
	out := []option{{"", "—"}}
	for _, o := range def.Options {
		out = append(out, option{o, o})
	}
	return out
}

func inputType(fieldType string) string {
	switch fieldType {
	case "number":
		return "number"
	case "date":
		return "date"
	}
	return "text"
}

func isImage(ct string) bool {
	return slices.Contains([]string{"image/png", "image/jpeg", "image/gif", "image/webp"}, ct)
}

// size shows a byte count the short way.
func size(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
}

// truncate shortens s to n characters (not bytes: Chinese text).
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// showValue prints an audited value compactly.
func showValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "—"
	case string:
		if x == "" {
			return "—"
		}
		return truncate(x, 120)
	}
	b, _ := json.Marshal(v)
	return truncate(string(b), 120)
}

// staffNames is the mention list for the composer, as JSON.
func staffNames(d *directory) string {
	names := make([]string, len(d.Staff))
	for i, st := range d.Staff {
		names[i] = st.Name
	}
	b, _ := json.Marshal(names)
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

// fileSubtype names a service-file entry: a message kind, a ticket's
// status when it was opened, or the audited action on the customer.
func fileSubtype(ctx context.Context, kind, subtype string) string {
	key := ""
	switch kind {
	case "message":
		key = "kind." + subtype
	case "ticket":
		key = "status." + subtype
	}
	if s := T(ctx, key); key != "" && s != key {
		return s
	}
	return subtype
}
