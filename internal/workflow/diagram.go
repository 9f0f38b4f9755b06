package workflow

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"slices"
	"unicode"

	"github.com/kefu-desk/kefu"
)

// Diagram draws a chain as SVG, top to bottom: a box per stage (its name,
// department and time), an arrow per decision that leads on, labelled
// with it, and to the left of each box a tag per decision that ends the
// chain, coloured by its outcome. Arrows back up the chain (returns,
// loops) curve round the right-hand side, dashed. When route is given
// (an instance's hops) the stages it passed through and the decisions it
// took are drawn strong, and current (the stage it is at) is outlined.
// Text is in lang.
func Diagram(d *Document, lang string, route []Hop, current string) []byte {
	g := layoutOf(d)
	took := map[string]bool{}
	visited := map[string]bool{}
	if len(route) > 0 {
		visited[d.First().Key] = true
	}
	for _, h := range route {
		took[edgeKey(h.From, h.Decision, h.To, h.Outcome)] = true
		visited[h.From] = true
		if h.To != "" {
			visited[h.To] = true
		}
	}
	var b bytes.Buffer
	title := d.Name.In(lang)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="wf-diagram" viewBox="0 0 %d %d" width="%d" height="%d" role="img" aria-labelledby="wf-title-%s">`,
		g.width, g.height, g.width, g.height, esc(d.Key))
	fmt.Fprintf(&b, `<title id="wf-title-%s">%s</title>`, esc(d.Key), esc(title))
	b.WriteString(`<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#7b8794"/></marker>` +
		`<marker id="wf-arrow-on" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#1a56db"/></marker></defs>`)
	b.WriteString(`<style>.wf-diagram text{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif}` +
		`.wf-edge{fill:none;stroke:#9aa5b1;stroke-width:1.5}.wf-edge.back{stroke-dasharray:5 4}.wf-edge.on{stroke:#1a56db;stroke-width:3}` +
		`.wf-label{font-size:11px;fill:#3e4c59}.wf-label.on{fill:#1a56db;font-weight:600}.wf-label-bg{fill:#fff;opacity:.9}` +
		`.wf-node rect{fill:#fff;stroke:#7b8794;stroke-width:1.5}.wf-node.visited rect{fill:#e8f0fe;stroke:#1a56db}` +
		`.wf-node.current rect{stroke:#1a56db;stroke-width:4}.wf-name{font-size:13px;font-weight:600;fill:#1f2933}.wf-meta{font-size:11px;fill:#616e7c}` +
		`.wf-end rect{stroke-width:1;fill:#f5f7fa;stroke:#9aa5b1}.wf-end.approved rect,.wf-end.resolved rect{fill:#e3f9e5;stroke:#57ae5b}` +
		`.wf-end.rejected rect{fill:#ffe3e3;stroke:#e12d39}.wf-end.on rect{stroke-width:3}.wf-end text{font-size:11px;fill:#1f2933}</style>`)
	// Edges first, so boxes sit on top of them.
	for _, e := range g.edges {
		on := took[e.key]
		cls := "wf-edge"
		if e.back {
			cls += " back"
		}
		marker := "wf-arrow"
		if on {
			cls += " on"
			marker = "wf-arrow-on"
		}
		fmt.Fprintf(&b, `<path class="%s" d="%s" marker-end="url(#%s)" data-edge="%s"/>`, cls, e.path, marker, esc(e.key))
		if e.end != "" {
			continue // the tag carries the label
		}
		label := decisionText(e.kind, e.label, lang)
		lc := "wf-label"
		if on {
			lc += " on"
		}
		if e.side {
			// Beside its lane, to the right, so it never covers the boxes'
			// arrows.
			label = clip(label, g.width-e.lx-8, 11)
			w := textWidth(label, 11) + 8
			fmt.Fprintf(&b, `<rect class="wf-label-bg" x="%d" y="%d" width="%d" height="16" rx="3"/>`, e.lx-4, e.ly-11, w)
			fmt.Fprintf(&b, `<text class="%s" x="%d" y="%d">%s</text>`, lc, e.lx, e.ly+1, esc(label))
			continue
		}
		w := textWidth(label, 11) + 8
		fmt.Fprintf(&b, `<rect class="wf-label-bg" x="%d" y="%d" width="%d" height="16" rx="3"/>`, e.lx-w/2, e.ly-11, w)
		fmt.Fprintf(&b, `<text class="%s" x="%d" y="%d" text-anchor="middle">%s</text>`, lc, e.lx, e.ly+1, esc(label))
	}
	for _, n := range g.nodes {
		for _, t := range n.ends {
			cls := "wf-end " + string(t.outcome)
			if took[t.key] {
				cls += " on"
			}
			label := decisionText(t.kind, t.label, lang)
			fmt.Fprintf(&b, `<g class="%s" data-edge="%s"><title>%s → %s</title>`, cls, esc(t.key), esc(label), esc(outcomeText(t.outcome, lang)))
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="9"/>`, t.x, t.y, endW, endH)
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text></g>`, t.x+8, t.y+13, esc(clip(label, endW-14, 11)))
		}
		cls := "wf-node"
		if visited[n.key] {
			cls += " visited"
		}
		if n.key == current && current != "" {
			cls += " current"
		}
		fmt.Fprintf(&b, `<g class="%s" data-stage="%s">`, cls, esc(n.key))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" rx="8"/>`, n.x, n.y, nodeW, nodeH)
		// Names are bold: measure them a size up.
		fmt.Fprintf(&b, `<text class="wf-name" x="%d" y="%d" text-anchor="middle">%s</text>`, n.x+nodeW/2, n.y+23, esc(clip(n.stage.Name.In(lang), nodeW-16, 14)))
		meta := n.stage.Department
		if n.stage.Role != "" {
			meta += " · " + string(n.stage.Role)
		}
		meta += " · " + minutesText(n.stage.SLA.Minutes, lang)
		fmt.Fprintf(&b, `<text class="wf-meta" x="%d" y="%d" text-anchor="middle">%s</text>`, n.x+nodeW/2, n.y+42, esc(clip(meta, nodeW-16, 11)))
		b.WriteString(`</g>`)
	}
	b.WriteString(`</svg>`)
	return b.Bytes()
}

func esc(s string) string { return html.EscapeString(s) }

func edgeKey(from string, kind DecisionKind, to string, outcome Outcome) string {
	if outcome != "" {
		return from + ">" + string(kind) + ">@" + string(outcome)
	}
	return from + ">" + string(kind) + ">" + to
}

// decisionText is a decision's label, or its kind in words.
func decisionText(kind DecisionKind, label Text, lang string) string {
	if s := label.In(lang); s != "" {
		return s
	}
	zh := map[DecisionKind]string{Approve: "通过", Reject: "驳回", Forward: "转交", Return: "退回", Arbitrate: "仲裁", Close: "结案"}
	if lang == "zh-CN" {
		return zh[kind]
	}
	return string(kind)
}

// outcomeText names an outcome.
func outcomeText(o Outcome, lang string) string {
	zh := map[Outcome]string{Resolved: "已解决", Approved: "已批准", Rejected: "已驳回"}
	en := map[Outcome]string{Resolved: "resolved", Approved: "approved", Rejected: "rejected"}
	if lang == "zh-CN" {
		return zh[o]
	}
	return en[o]
}

func minutesText(m int, lang string) string {
	switch {
	case m%60 == 0 && lang == "zh-CN":
		return fmt.Sprintf("%d 小时", m/60)
	case m%60 == 0:
		return fmt.Sprintf("%d h", m/60)
	case lang == "zh-CN":
		return fmt.Sprintf("%d 分钟", m)
	}
	return fmt.Sprintf("%d min", m)
}

// textWidth estimates the width of s at a font size: wide characters
// (Chinese) take about a full em, others about half.
func textWidth(s string, size int) int {
	w := 0
	for _, r := range s {
		if unicode.Is(unicode.Han, r) || r > 0x2E80 {
			w += size
		} else {
			w += size * 3 / 5
		}
	}
	return w
}

// clip shortens s to fit width at a font size, with an ellipsis.
func clip(s string, width, size int) string {
	if textWidth(s, size) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 1 && textWidth(string(r)+"…", size) > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}

type node struct {
	key      string
	stage    *Stage
	rank     int
	x, y     int
	outCount int
	ends     []endTag
}

// endTag is a decision that ends the chain, drawn beside its stage.
type endTag struct {
	key     string
	kind    DecisionKind
	label   Text
	outcome Outcome
	x, y    int
}

type edge struct {
	key    string
	kind   DecisionKind
	label  Text
	path   string
	back   bool
	side   bool // routed round the right-hand side, labelled beside it
	end    Outcome
	lx, ly int
}

type graph struct {
	nodes         []*node
	edges         []edge
	width, height int
}

const (
	nodeW, nodeH = 220, 56
	endW, endH   = 170, 18 // an ending decision's tag
	endArea      = endW + 30
	gapX, gapY   = 40, 84
	margin       = 20
	sideRoom     = 260 // to the right, for arrows back up the chain and their labels
)

// layoutOf ranks stages by their distance from the first along forward
// decisions, places each rank in a row (each box with room on its left
// for its ending decisions) and routes the arrows.
func layoutOf(d *Document) *graph {
	g := &graph{}
	byKey := map[string]*node{}
	for i := range d.Stages {
		n := &node{key: d.Stages[i].Key, stage: &d.Stages[i], rank: -1}
		g.nodes = append(g.nodes, n)
		byKey[n.key] = n
	}
	byKey[d.First().Key].rank = 0
	queue := []*node{byKey[d.First().Key]}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		for _, dc := range n.stage.Decisions {
			if m := byKey[dc.To]; m != nil && dc.Kind != Return && m.rank < 0 {
				m.rank = n.rank + 1
				queue = append(queue, m)
			}
		}
	}
	rows := map[int][]*node{}
	maxRank := 0
	for _, n := range g.nodes {
		if n.rank < 0 { // unreachable: drawn below the rest
			n.rank = len(d.Stages)
		}
		rows[n.rank] = append(rows[n.rank], n)
		maxRank = max(maxRank, n.rank)
	}
	cell := endArea + nodeW
	widest := 0
	for _, ns := range rows {
		widest = max(widest, len(ns)*cell+(len(ns)-1)*gapX)
	}
	y := margin
	for r := 0; r <= maxRank; r++ {
		ns := rows[r]
		if len(ns) == 0 {
			continue
		}
		x := margin + (widest-(len(ns)*cell+(len(ns)-1)*gapX))/2
		for _, n := range ns {
			n.x, n.y = x+endArea, y
			x += cell + gapX
		}
		y += nodeH + gapY
	}
	g.width = margin*2 + widest + sideRoom
	g.height = y - gapY + margin
	backLane := 0
	for _, n := range g.nodes {
		var ends []Decision
		for _, dc := range n.stage.Decisions {
			if dc.Outcome != "" {
				ends = append(ends, dc)
			}
		}
		for i, dc := range ends {
			t := endTag{key: edgeKey(n.key, dc.Kind, "", dc.Outcome), kind: dc.Kind, label: dc.Label, outcome: dc.Outcome,
				x: n.x - endArea, y: n.y + nodeH/2 - endH/2 + (2*i-(len(ends)-1))*(endH+4)/2}
			n.ends = append(n.ends, t)
			g.edges = append(g.edges, edge{key: t.key, kind: dc.Kind, end: dc.Outcome,
				path: fmt.Sprintf("M%d,%d L%d,%d", n.x, n.y+nodeH/2, t.x+endW+2, t.y+endH/2)})
		}
		for _, dc := range n.stage.Decisions {
			var targets []*node
			switch {
			case dc.Outcome != "":
			case dc.To != "":
				targets = append(targets, byKey[dc.To])
			case dc.Kind == Return:
				// A bare return goes back to whichever stage led here.
				for _, m := range g.nodes {
					if slices.ContainsFunc(m.stage.Decisions, func(x Decision) bool { return x.To == n.key && x.Kind != Return }) {
						targets = append(targets, m)
					}
				}
			}
			for _, m := range targets {
				if m == nil {
					continue
				}
				e := edge{key: edgeKey(n.key, dc.Kind, m.key, ""), kind: dc.Kind, label: dc.Label}
				if m.rank == n.rank+1 {
					x1, y1 := n.x+nodeW/2+spread(n.outCount), n.y+nodeH
					n.outCount++
					x2, y2 := m.x+nodeW/2, m.y
					e.path = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, x1, y1+gapY/2, x2, y2-gapY/2, x2, y2-2)
					e.lx, e.ly = (x1+x2)/2, (y1+y2)/2
				} else {
					// Up, across or over several rows: round the right-hand side.
					backLane++
					lane := margin + widest + 20 + (backLane%3)*24
					x1, y1 := n.x+nodeW, n.y+nodeH/2+6
					x2, y2 := m.x+nodeW, m.y+nodeH/2-6
					e.path = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, lane, y1, lane, y2, x2+2, y2)
					e.back, e.side = m.rank <= n.rank, true
					e.lx, e.ly = lane+6, (y1+y2)/2
				}
				g.edges = append(g.edges, e)
			}
		}
	}
	return g
}

// spread fans several arrows out of one box so they do not overlap.
func spread(i int) int {
	offsets := []int{0, -50, 50, -90, 90}
	return offsets[i%len(offsets)]
}

// DiagramOf draws chain ref; with instanceID, the version that instance
// runs, with its route and current stage.
func (s *Service) DiagramOf(ctx context.Context, ref, instanceID, lang string) ([]byte, error) {
	d, err := s.Definition(ctx, ref)
	if err != nil {
		return nil, err
	}
	if instanceID == "" {
		return Diagram(&d.Document, lang, nil, ""), nil
	}
	inst, err := s.Get(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	if inst.DefinitionID != d.ID {
		return nil, kefu.Fieldf("query.instance", "instance %s runs another workflow", instanceID)
	}
	doc, err := s.version(ctx, s.DB.Read, d.ID, inst.DefinitionVersion)
	if err != nil {
		return nil, err
	}
	return Diagram(doc, lang, inst.Path, inst.Stage), nil
}
