// Package auth authenticates API callers. A caller presents a bearer token in
// the HTTP Authorization header or the gRPC "authorization" metadata; the
// token is either a Switchboard API token ("sbt_…", stored only as its
// SHA-256 in store.Auth) or a JWT signed with HS256 or RS256 by a configured
// identity provider whose principal claim names a principal in the store.
//
// An Authenticator turns the header value into a store.Principal or an error
// of kind errs.Unauthenticated (the caller is not known) or errs.Transient
// (the store could not be asked). What the principal may do is decided
// elsewhere (the access policy); this package only says who is calling.
package auth
