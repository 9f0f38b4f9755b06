package email

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

var metaCharset = regexp.MustCompile(`(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_:.\-]+)`)

// htmlCharset finds the charset an HTML part declares in a <meta> tag, for
// parts whose Content-Type does not say.
func htmlCharset(b []byte) string {
	head := b
	if len(head) > 4096 {
		head = head[:4096]
	}
	if m := metaCharset.FindSubmatch(head); m != nil {
		return string(m[1])
	}
	return ""
}

// htmlToText renders an HTML-only body as readable text for agents,
// previews and search. It is written for Chinese mail: adjacent inline
// elements are joined without a space (html2text-style converters put one
// between every pair of text nodes, which reads 保温杯 有裂缝), and no
// markup characters are added. Block elements become line breaks.
func htmlToText(s string) string {
	doc, err := html.Parse(strings.NewReader(s))
	if err != nil {
		return ""
	}
	var b strings.Builder
	var walk func(n *html.Node, pre bool)
	walk = func(n *html.Node, pre bool) {
		switch n.Type {
		case html.TextNode:
			if pre {
				b.WriteString(n.Data)
			} else {
				b.WriteString(spaces.ReplaceAllString(n.Data, " "))
			}
			return
		case html.ElementNode:
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Head, atom.Title, atom.Noscript, atom.Template:
				return
			case atom.Br:
				b.WriteString("\n")
				return
			case atom.Hr:
				b.WriteString("\n\n")
				return
			case atom.Img:
				if alt := strings.TrimSpace(attr(n, "alt")); alt != "" {
					b.WriteString("[" + alt + "]")
				}
				return
			case atom.Li:
				b.WriteString("\n- ")
			case atom.Td, atom.Th:
				if n.PrevSibling != nil {
					b.WriteString("\t")
				}
			case atom.Pre:
				pre = true
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, pre)
		}
		if n.Type == html.ElementNode && isBlock(n.DataAtom) {
			b.WriteString("\n\n")
		}
	}
	walk(doc, false)
	return tidyText(b.String())
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func isBlock(a atom.Atom) bool {
	switch a {
	case atom.P, atom.Div, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Ul, atom.Ol,
		atom.Table, atom.Tr, atom.Blockquote, atom.Pre, atom.Section, atom.Article, atom.Header,
		atom.Footer, atom.Address, atom.Dl, atom.Dt, atom.Dd, atom.Form, atom.Center:
		return true
	}
	return false
}

var manyBreaks = regexp.MustCompile(`\n{3,}`)

// tidyText trims each line and collapses runs of blank lines to one.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\u00a0", " ")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.TrimLeft(l, " "), " \t")
	}
	return strings.TrimSpace(manyBreaks.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}
