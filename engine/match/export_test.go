package match

// FindHit is find, for the external tests of this package.
var FindHit = find
