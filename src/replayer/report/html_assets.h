// The HTML report's inline style sheet and script (html_report.h): constant text, no data from
// the run (the script reads the page's table, so nothing untrusted is ever inside <script>).
#pragma once

namespace tcpr::replay {

extern const char* const kReportStyle;
// Sorts the endpoint table by a clicked header (numbers by their data-v attribute, ties by
// rank), first by rank (worst first); "#sort=KEY" or "#sort=KEY:asc|desc" in the page's
// address clicks header KEY once the page is loaded; a filter box hides rows by name. Sets
// <body data-ready="1"> when done.
extern const char* const kReportScript;

}  // namespace tcpr::replay
