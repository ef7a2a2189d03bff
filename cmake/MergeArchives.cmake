# cmake -DAR=ar -DOUT=libx.a -DLIBS="a.a;b.a" -P MergeArchives.cmake
# One static library holding every member of LIBS (GNU ar's MRI script).
set(SCRIPT "create ${OUT}\n")
foreach(L ${LIBS})
  string(APPEND SCRIPT "addlib ${L}\n")
endforeach()
string(APPEND SCRIPT "save\nend\n")
file(WRITE "${OUT}.mri" "${SCRIPT}")
file(REMOVE "${OUT}")
execute_process(COMMAND ${AR} -M INPUT_FILE "${OUT}.mri" RESULT_VARIABLE RC)
if(NOT RC EQUAL 0)
  message(FATAL_ERROR "ar -M failed (${RC}) making ${OUT}")
endif()
