package canned

import "strings"

// Vars are the values a reply's variables are filled with. An empty value
// leaves the placeholder's place empty.
type Vars struct {
	CustomerName  string
	TicketKey     string
	TicketSubject string
	AgentName     string
	OrderNumber   string
}

func (v Vars) lookup(name string) (string, bool) {
	switch name {
	case "customer.name":
		return v.CustomerName, true
	case "ticket.key":
		return v.TicketKey, true
	case "ticket.subject":
		return v.TicketSubject, true
	case "agent.name":
		return v.AgentName, true
	case "order.number":
		return v.OrderNumber, true
	}
	return "", false
}

// Render fills body's variables with vars. It is plain substitution in one
// pass over the body: values are inserted as they are and never scanned
// again, so a customer named "{{agent.name}}" stays just that, and text
// that is not a known variable is left untouched.
func Render(body string, vars Vars) string {
	var b strings.Builder
	b.Grow(len(body))
	for {
		i := strings.Index(body, "{{")
		if i < 0 {
			break
		}
		j := strings.Index(body[i+2:], "}}")
		if j < 0 {
			break
		}
		name := strings.TrimSpace(body[i+2 : i+2+j])
		v, ok := vars.lookup(name)
		b.WriteString(body[:i])
		if ok {
			b.WriteString(v)
		} else {
			b.WriteString(body[i : i+4+j])
		}
		body = body[i+4+j:]
	}
	b.WriteString(body)
	return b.String()
}

// variablesIn lists the names between {{ and }} in body, in order.
func variablesIn(body string) []string {
	var names []string
	for {
		i := strings.Index(body, "{{")
		if i < 0 {
			return names
		}
		j := strings.Index(body[i+2:], "}}")
		if j < 0 {
			return names
		}
		names = append(names, strings.TrimSpace(body[i+2:i+2+j]))
		body = body[i+4+j:]
	}
}
