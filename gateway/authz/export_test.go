package authz

// AllowedFull asks the enforcer holding the whole policy (tests compare it
// with the per-role shards Allowed asks).
func AllowedFull(a *Authorizer, principal, action string, o Object) bool {
	return a.allowedFull(principal, action, o)
}
