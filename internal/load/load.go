// Package load is the traffic Kefu's load measurements send, so that the
// Go benchmarks and cmd/kefu-load measure the same thing.
package load

import (
	"encoding/json"
	"fmt"
)

// ReturningCustomers is how many customers nine in ten tickets come
// from. A load posts tickets 0 to ReturningCustomers-1 first, one from
// each of them.
const ReturningCustomers = 100

// Ticket is the JSON body of an integration's n-th POST /api/v1/tickets:
// an exchange request with a tag, an order number and a first message in
// Chinese. Its customer is c<n mod 100>@domain, except that every tenth
// ticket after the first ReturningCustomers comes from a new customer,
// new<n><tag>@domain (tag keeps the new customers of two runs on one
// store apart).
func Ticket(n int64, domain, tag string) []byte {
	email := fmt.Sprintf("c%d@%s", n%ReturningCustomers, domain)
	if n%10 == 0 && n >= ReturningCustomers {
		email = fmt.Sprintf("new%d%s@%s", n, tag, domain)
	}
	body, err := json.Marshal(map[string]any{"subject": "连衣裙尺码偏小，申请换货", "channel": "api", "category": "return_exchange",
		"order_number": fmt.Sprintf("SO%d", n), "tags": []string{"vip"},
		"customer": map[string]string{"email": email, "name": "王芳"},
		"message":  map[string]string{"text": "收到的连衣裙偏小，想换大一号，吊牌还在，没有穿过。"}})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return body
}
