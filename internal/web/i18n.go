package web

import (
	"context"
	"embed"
	"net/http"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

//go:embed locales/*.toml
var localeFS embed.FS

// bundle holds every message in English and Simplified Chinese; the
// TOML files' names are their language tags.
var bundle = func() *i18n.Bundle {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	for _, f := range []string{"locales/en.toml", "locales/zh-CN.toml"} {
		if _, err := b.LoadMessageFileFS(localeFS, f); err != nil {
			panic(err) // the files are embedded: a bad one fails every test
		}
	}
	return b
}()

// matcher picks the nearest supported language for Accept-Language, so
// zh, zh-Hans and zh-SG all get Simplified Chinese.
var matcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

type locKey struct{}

type locale struct {
	lang string
	loc  *i18n.Localizer
}

func withLocalizer(ctx context.Context, lang string) context.Context {
	if lang != "zh-CN" {
		lang = "en"
	}
	return context.WithValue(ctx, locKey{}, locale{lang: lang, loc: i18n.NewLocalizer(bundle, lang)})
}

func localeOf(ctx context.Context) locale {
	if l, ok := ctx.Value(locKey{}).(locale); ok {
		return l
	}
	return locale{lang: "en", loc: i18n.NewLocalizer(bundle, "en")}
}

// lang is the language of the page being rendered ("en" or "zh-CN").
func lang(ctx context.Context) string { return localeOf(ctx).lang }

// T translates message id; kv are template data pairs ("Name", "李娜").
// A missing message shows its id, and a test keeps that from shipping.
func T(ctx context.Context, id string, kv ...any) string {
	var data map[string]any
	if len(kv) > 0 {
		data = make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			data[k] = kv[i+1]
		}
	}
	s, err := localeOf(ctx).loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil || s == "" {
		return id
	}
	return s
}

// langCookie keeps the choice of someone not signed in.
const langCookie = "kefu_lang"

// language sets the page language before sign-in: the cookie if chosen,
// else the browser's Accept-Language. Signed-in staff get their saved
// language from requireStaff instead.
func (s *Server) language(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l := "en"
		if c, err := r.Cookie(langCookie); err == nil && (c.Value == "en" || c.Value == "zh-CN") {
			l = c.Value
		} else if al := r.Header.Get("Accept-Language"); al != "" {
			tags, _, _ := language.ParseAcceptLanguage(al)
			if _, i, conf := matcher.Match(tags...); conf != language.No && i == 1 {
				l = "zh-CN"
			}
		}
		next.ServeHTTP(w, r.WithContext(withLocalizer(r.Context(), l)))
	})
}
