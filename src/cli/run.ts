// Entry point of the `fakeface` command (bin/fakeface.js runs the compiled copy).
import { main } from './main.js';
import { reportError } from './output.js';

main(process.argv).catch((error: unknown) => {
  process.exitCode = reportError(error);
});
