package main

import (
	"fmt"
	"net/url"
	"strings"
)

// PortalConfig is the customer side's part of kefu serve and kefu demo.
type PortalConfig struct {
	PublicURL           string   `help:"The address customers reach Kefu at (https://help.shop.example): links in sign-in mails and text messages start with it. Without it they carry the code only." env:"KEFU_PUBLIC_URL" placeholder:"URL"`
	ContactEmbedOrigins []string `help:"Sites allowed to show the contact form in a frame (https://shop.example, …); empty allows any." env:"KEFU_CONTACT_EMBED_ORIGINS" placeholder:"ORIGIN,…"`
}

// configurePortal applies c, refusing a public URL or an origin that
// would put a wrong address into customers' mail or a browser header.
func (a *App) configurePortal(c PortalConfig) error {
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("--public-url %q: want an absolute http(s) URL such as https://help.shop.example", c.PublicURL)
		}
		a.Portal.PublicURL = strings.TrimRight(u.String(), "/")
	}
	var origins []string
	for _, o := range c.ContactEmbedOrigins {
		if o == "*" {
			origins = append(origins, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("--contact-embed-origins %q: want an origin such as https://shop.example", o)
		}
		origins = append(origins, u.Scheme+"://"+u.Host)
	}
	a.Web.EmbedOrigins = origins
	return nil
}
