# pulp_embed_files(OUT_CC NAMESPACE FUNCTION FILES...)
# Writes OUT_CC defining `std::vector<std::pair<std::string, std::string>> NAMESPACE::FUNCTION()`
# that returns (file name, contents) for each file, in the order given. Used to compile SQL
# migrations into the binaries, so a deployed binary never depends on a source checkout.
function(pulp_embed_files out_cc ns fn)
  set(body "#include <string>\n#include <utility>\n#include <vector>\nnamespace ${ns} {\n")
  string(APPEND body "std::vector<std::pair<std::string, std::string>> ${fn}() {\n  return {\n")
  foreach(f IN LISTS ARGN)
    file(READ ${f} content)
    get_filename_component(name ${f} NAME)
    string(APPEND body "    {\"${name}\", R\"__embed__(${content})__embed__\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${f})
  endforeach()
  string(APPEND body "  };\n}\n}  // namespace ${ns}\n")
  file(WRITE ${out_cc}.tmp "${body}")
  configure_file(${out_cc}.tmp ${out_cc} COPYONLY)
endfunction()
