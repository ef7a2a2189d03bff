# lit configuration for the fusevm tools (spec/cli.md, spec/assembly.md).
import os
import lit.formats

config.name = "fusevm"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".fasm", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.fusevm_obj_root

config.environment["PATH"] = os.pathsep.join(
    [config.test_source_root,
     os.path.join(config.fusevm_tools_dir, "fusevm"),
     os.path.join(config.fusevm_tools_dir, "fusevmc"),
     config.llvm_tools_dir, config.environment.get("PATH", os.environ["PATH"])])
config.substitutions.append(("%conformance", config.conformance_dir))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))
config.substitutions.append(("%runtime", config.runtime_lib))
config.substitutions.append(("%fusevm_includes", config.include_dirs))
