package settings

import (
	"maps"
	"testing"
	"time"
)

func TestStrict(t *testing.T) {
	known := []string{"url", "timeout"}
	if err := Strict(map[string]string{"url": "x", "timeout": ""}, known); err != nil {
		t.Fatal(err)
	}
	if err := Strict(nil, nil); err != nil {
		t.Fatal(err)
	}
	err := Strict(map[string]string{"url": "x", "urll": "y"}, known)
	if want := `unknown setting "urll" (known: url, timeout)`; err == nil || err.Error() != want {
		t.Fatalf("Strict = %v, want %s", err, want)
	}
	if k, ok := UnknownKey(map[string]string{"a": ""}, nil); !ok || k != "a" {
		t.Fatalf("UnknownKey = %q, %v", k, ok)
	}
}

func TestEndpoint(t *testing.T) {
	for _, tc := range []struct {
		s    map[string]string
		eps  []string
		want string
	}{
		{map[string]string{"url": " http://a/ "}, []string{"http://b/"}, "http://a/"},
		{map[string]string{"url": "  "}, []string{" http://b/ ", "http://c/"}, "http://b/"},
		{nil, nil, ""},
	} {
		if got := Endpoint(tc.s, "url", tc.eps); got != tc.want {
			t.Errorf("Endpoint(%v, %v) = %q, want %q", tc.s, tc.eps, got, tc.want)
		}
	}
	if err := NoEndpoint("addr"); err.Error() != "addr: required (or give the backend an endpoint)" {
		t.Errorf("NoEndpoint = %v", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"http://h/x", true}, {"https://h", true}, {"ftp://h", false},
		{"http:///x", false}, {"h:80", false}, {"://", false}, {"", false},
	} {
		if _, ok := ParseURL(tc.v, "http", "https"); ok != tc.ok {
			t.Errorf("ParseURL(%q) ok = %v", tc.v, ok)
		}
	}
}

func TestDuration(t *testing.T) {
	d, err := Duration(map[string]string{"timeout": " 2s "}, "timeout", "10s")
	if err != nil || d != 2*time.Second {
		t.Fatalf("Duration = %s, %v", d, err)
	}
	if d, err := Duration(nil, "timeout", "10s"); err != nil || d != 0 {
		t.Fatalf("Duration of nothing = %s, %v", d, err)
	}
	_, err = Duration(map[string]string{"timeout": "soon"}, "timeout", "30s")
	if want := `timeout: "soon" is not a duration such as 30s`; err == nil || err.Error() != want {
		t.Fatalf("Duration = %v, want %s", err, want)
	}
	if err := Positive("timeout", -time.Second); err == nil || err.Error() != "timeout: -1s, want a positive duration" {
		t.Fatalf("Positive = %v", err)
	}
	if err := Positive("timeout", time.Nanosecond); err != nil {
		t.Fatal(err)
	}
}

func TestBool(t *testing.T) {
	s := map[string]string{"a": " true ", "b": "0", "c": "yes"}
	if v, ok, err := Bool(s, "a"); !v || !ok || err != nil {
		t.Errorf("a: %v %v %v", v, ok, err)
	}
	if v, ok, err := Bool(s, "b"); v || !ok || err != nil {
		t.Errorf("b: %v %v %v", v, ok, err)
	}
	if v, ok, err := Bool(s, "none"); v || ok || err != nil {
		t.Errorf("none: %v %v %v", v, ok, err)
	}
	if _, _, err := Bool(s, "c"); err == nil || err.Error() != `c: "yes", want true or false` {
		t.Errorf("c: %v", err)
	}
}

func TestPairs(t *testing.T) {
	m, err := Pairs(map[string]string{"m": " a = b ,, c=d ,"}, "m", "x=y", "named")
	if err != nil || !maps.Equal(m, map[string]string{"a": "b", "c": "d"}) {
		t.Fatalf("Pairs = %v, %v", m, err)
	}
	if m, err := Pairs(map[string]string{"m": " , "}, "m", "x=y", "named"); m != nil || err != nil {
		t.Fatalf("Pairs of blanks = %#v, %v", m, err)
	}
	for v, want := range map[string]string{
		"a":       `m: entry "a" is not x=y`,
		"=b":      `m: entry "=b" is not x=y`,
		"a=":      `m: entry "a=" is not x=y`,
		"a=b,a=c": `m: "a" is named twice`,
	} {
		if _, err := Pairs(map[string]string{"m": v}, "m", "x=y", "named"); err == nil || err.Error() != want {
			t.Errorf("Pairs(%q) = %v, want %s", v, err, want)
		}
	}
}

func TestEnv(t *testing.T) {
	for v, ok := range map[string]bool{"": true, "A_1": true, "_x": true, "1A": false, "A-B": false, "名": false} {
		if err := EnvName("passwordEnv", v); (err == nil) != ok {
			t.Errorf("EnvName(%q) = %v", v, err)
		}
	}
	if err := EnvName("k", "a b"); err == nil || err.Error() != `k: "a b" is not an environment variable name (letters, digits, _)` {
		t.Errorf("EnvName = %v", err)
	}
	env := map[string]string{"SET": "s3cret"}
	getenv := func(k string) string { return env[k] }
	if v, err := Secret(getenv, "apiKeyEnv", "SET"); v != "s3cret" || err != nil {
		t.Errorf("Secret = %q, %v", v, err)
	}
	if _, err := Secret(getenv, "apiKeyEnv", "UNSET"); err == nil || err.Error() != "apiKeyEnv: the environment variable UNSET is empty" {
		t.Errorf("Secret of an empty variable = %v", err)
	}
}

func TestIsToken(t *testing.T) {
	for s, ok := range map[string]bool{"Idempotency-Key": true, "X_y.1~": true, "": false, "a b": false, "a:b": false, "键": false} {
		if IsToken(s) != ok {
			t.Errorf("IsToken(%q) = %v", s, !ok)
		}
	}
}
