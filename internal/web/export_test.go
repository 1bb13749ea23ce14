package web

// Groups is groups, for the tests of package web_test.
var Groups = groups
