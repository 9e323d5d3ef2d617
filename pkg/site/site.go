package site

import (
	"net"
	"net/url"
	"strings"
)

// Site is one Datadog site, such as US5.
type Site struct {
	// Name is the short name Datadog's documentation uses, such as "US5".
	Name string
	// Param is the site parameter, such as "us5.datadoghq.com".
	Param string
}

// APIHost is the site's API host name, such as "api.us5.datadoghq.com".
func (s Site) APIHost() string { return "api." + s.Param }

// URL is the site's API base URL, such as "https://api.us5.datadoghq.com".
func (s Site) URL() string { return "https://" + s.APIHost() }

// IsZero reports whether s is the zero Site.
func (s Site) IsZero() bool { return s.Param == "" }

// sites is the allow-list, in the order of Datadog's site table.
var sites = []Site{
	{Name: "US1", Param: "datadoghq.com"},
	{Name: "US3", Param: "us3.datadoghq.com"},
	{Name: "US5", Param: "us5.datadoghq.com"},
	{Name: "EU", Param: "datadoghq.eu"},
	{Name: "AP1", Param: "ap1.datadoghq.com"},
	{Name: "AP2", Param: "ap2.datadoghq.com"},
	{Name: "UK1", Param: "uk1.datadoghq.com"},
	{Name: "US1-FED", Param: "ddog-gov.com"},
	{Name: "US2-FED", Param: "us2.ddog-gov.com"},
}

// hosts maps every host name a user may paste to its site: the API host, the
// bare site parameter and the web app host.
var hosts = func() map[string]Site {
	m := make(map[string]Site, 3*len(sites))
	for _, s := range sites {
		m[s.APIHost()] = s
		m[s.Param] = s
		m["app."+s.Param] = s
	}
	return m
}()

// All returns every allow-listed site.
func All() []Site { return append([]Site(nil), sites...) }

// ByParam returns the site whose parameter is param, such as "us5.datadoghq.com".
func ByParam(param string) (Site, bool) {
	for _, s := range sites {
		if s.Param == param {
			return s, true
		}
	}
	return Site{}, false
}

// ByName returns the site named name, such as "US5" (case-insensitive).
func ByName(name string) (Site, bool) {
	for _, s := range sites {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return Site{}, false
}

// maxLength is the longest URL Parse looks at.
const maxLength = 256

// Error says why a URL was refused. Its message never repeats the input,
// which may carry credentials in its userinfo.
type Error struct {
	// Reason is a user-safe explanation, such as "a port is not allowed".
	Reason string
}

func (e *Error) Error() string {
	return "not a Datadog API URL: " + e.Reason + " (use a site such as https://api.datadoghq.com or us5.datadoghq.com)"
}

func refuse(reason string) (Site, error) { return Site{}, &Error{Reason: reason} }

// Parse turns a user-supplied URL or site name into an allow-listed Site.
//
// It accepts "https://api.us5.datadoghq.com", "us5.datadoghq.com",
// "https://app.datadoghq.eu" and "https://us3.datadoghq.com/", and refuses
// anything that is not exactly an https URL of a known Datadog host.
func Parse(raw string) (Site, error) {
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return refuse("the URL is empty")
	case len(raw) > maxLength:
		return refuse("the URL is too long")
	}
	for _, r := range raw {
		if r <= ' ' || r == 0x7f || r > 0x7e || r == '\\' || r == '%' {
			return refuse("the URL contains characters that are not allowed (spaces, escapes, backslashes or non-ASCII)")
		}
	}
	if !strings.Contains(raw, "://") {
		// A bare site such as "us5.datadoghq.com". Anything else that lacks a
		// scheme ("localhost:80", "mailto:x@y") fails the checks below.
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("the URL cannot be parsed")
	}
	switch {
	case !strings.EqualFold(u.Scheme, "https"):
		return refuse("the scheme must be https")
	case u.Opaque != "":
		return refuse("the URL must have a host")
	case u.User != nil:
		return refuse("user information is not allowed")
	case u.Port() != "" || strings.HasSuffix(u.Host, ":"):
		return refuse("a port is not allowed")
	case u.Path != "" && u.Path != "/":
		return refuse("a path is not allowed")
	case u.RawQuery != "" || u.ForceQuery:
		return refuse("a query is not allowed")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return refuse("a fragment is not allowed")
	}
	host := strings.ToLower(u.Hostname())
	switch {
	case host == "":
		return refuse("the URL must have a host")
	case net.ParseIP(strings.Trim(host, "[]")) != nil || strings.HasPrefix(u.Host, "["):
		return refuse("IP addresses are not allowed")
	case strings.HasSuffix(host, "."):
		return refuse("a trailing dot is not allowed")
	}
	s, ok := hosts[host]
	if !ok {
		return refuse("the host is not a Datadog site")
	}
	return s, nil
}
