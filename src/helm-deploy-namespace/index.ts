import { runAction } from '../lib/action.js';
import { main, post } from './main.js';

await runAction(main, post);
