// Package deploy holds what runs kdcha on a host: the systemd unit
// (kdcha.service), the nftables rules for VRRP and the multi-node demo. It
// has no Go code; its tests check the unit with systemd-analyze (verify,
// and the security exposure score against Debian's krb5-kdc unit, 6.3) so
// a hardening setting lost in an edit fails CI.
package deploy
