// The QMP/QGA clients are issue 3's work; this unit keeps the qmp library non-empty.
namespace qmd::qmp {
int protocol_major() { return 1; }
}  // namespace qmd::qmp
